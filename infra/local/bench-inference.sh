#!/usr/bin/env bash
# Pipeline efficiency against running services (infra/local/up.sh): a random ViLT-B/32 (written once into $TMPDIR),
# N images (the example images plus generated PNGs/JPEGs of mixed sizes) ingested and preprocessed, then the same
# images and 3 questions answered by the engine in this process and by a job through the inference service.
# Prints both throughputs in (image, question) pairs/s, the job's timeline and the ratio. Model loading is left out of
# both. Run it on an idle machine: libtorch takes every core, so any other load shows up in the figures.
# Usage: infra/local/bench-inference.sh [N (default 20)]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/../.."
fixtures="${VQA_FIXTURES:-$root/../shared/fixtures}"
: "${VQA_POSTGRES:?set the VQA_* settings first: eval \"\$(infra/local/up.sh)\"}"
: "${VQA_API_KEY:?VQA_API_KEY is not set: eval \"\$(infra/local/up.sh)\" prints it (docs/api-keys.md)}"
dotnet build "$root/bench/VqaPipeline.Benchmarks" -c Release -v quiet -nologo >&2
exec dotnet "$root/bench/VqaPipeline.Benchmarks/bin/Release/net10.0/linux-x64/VqaPipeline.Benchmarks.dll" \
  pipeline "$fixtures" "${1:-20}"
