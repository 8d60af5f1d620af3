#!/usr/bin/env bash
# Search latency over a generated index: ROWS index rows (default 1,000,000), then QUERIES random searches (default
# 400); prints p50, p99 and max.
# - Without --gateway: the rows go into a throwaway database on the VQA_POSTGRES server (dropped afterwards) and the
#   searches are timed as the endpoint runs them (query and presigned URLs, no HTTP). Needs the servers only:
#   eval "$(infra/local/up.sh --infra-only)".
# - With --gateway: the rows go into the running stack's index, in ten new collections of the key's team, and the
#   searches are GET /search requests through the gateway (VQA_API_URL, VQA_API_KEY), timed end to end; the rows are
#   deleted afterwards. Needs the services: eval "$(infra/local/up.sh)".
# Usage: infra/local/bench-search.sh [--gateway] [ROWS] [QUERIES]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/../.."
mode=search
if [ "${1:-}" = --gateway ]; then
  mode=search-gateway
  shift
fi
: "${VQA_POSTGRES:?set the VQA_* settings first: eval \"\$(infra/local/up.sh --infra-only)\"}"
dotnet build "$root/bench/VqaPipeline.Benchmarks" -c Release -v quiet -nologo >&2
exec dotnet "$root/bench/VqaPipeline.Benchmarks/bin/Release/net10.0/linux-x64/VqaPipeline.Benchmarks.dll" "$mode" "$@"
