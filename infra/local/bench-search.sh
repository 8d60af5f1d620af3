#!/usr/bin/env bash
# Search latency over a generated index: ROWS index rows (default 1,000,000) copied into a throwaway database on the
# VQA_POSTGRES server (dropped afterwards), then QUERIES random searches (default 400) timed as the endpoint runs them,
# presigned URLs included; prints p50, p99 and max. Needs the servers: eval "$(infra/local/up.sh --infra-only)".
# Usage: infra/local/bench-search.sh [ROWS] [QUERIES]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/../.."
: "${VQA_POSTGRES:?set the VQA_* settings first: eval \"\$(infra/local/up.sh --infra-only)\"}"
dotnet build "$root/bench/VqaPipeline.Benchmarks" -c Release -v quiet -nologo >&2
exec dotnet "$root/bench/VqaPipeline.Benchmarks/bin/Release/net10.0/linux-x64/VqaPipeline.Benchmarks.dll" search "$@"
