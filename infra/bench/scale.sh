#!/usr/bin/env bash
# The whole pipeline at scale, against running services and any S3 endpoint (VQA_S3_*): N synthetic scenes rendered
# once (`vqa data synth`, kept in $TMPDIR for the next run), put straight into the bucket, imported into a new
# collection (POST /collections/{id}/imports), preprocessed, answered by one question job with the bundled model,
# indexed and searched. Writes report.md (images/s per stage, end to end, resident memory of every service, checks that
# every image has one final state and every answer exists once), timeline.csv and timeline.png (queue depths and
# progress, sampled every second). Exits 1 when a check fails.
# Usage: eval "$(infra/local/up.sh)"; infra/bench/scale.sh N [REPORT_FOLDER (default artifacts/scale-N-<time>)]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
images="${1:-}"
if [[ ! "$images" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: infra/bench/scale.sh N [REPORT_FOLDER]  (N: how many images, a whole number from 1)" >&2
  exit 2
fi
: "${VQA_POSTGRES:?set the VQA_* settings first: eval \"\$(infra/local/up.sh)\"}"
: "${VQA_API_KEY:?VQA_API_KEY is not set: eval \"\$(infra/local/up.sh)\" prints it (docs/api-keys.md)}"
report="${2:-$root/artifacts/scale-$images-$(date -u +%Y%m%dT%H%M%SZ)}"
scenes="${TMPDIR:-/tmp}/vqa-scale-scenes-$images"
if [[ ! -f "$scenes/questions.json" ]]; then
  rm -rf "$scenes"
  "$root/vqa" data synth --out "$scenes" --images "$images" --seed 11 --questions-per-image 1 >&2
fi
dotnet build "$root/bench/VqaPipeline.Benchmarks" -c Release -v quiet -nologo >&2
exec dotnet "$root/bench/VqaPipeline.Benchmarks/bin/Release/net10.0/linux-x64/VqaPipeline.Benchmarks.dll" \
  scale "$scenes/images" "$report"
