#!/usr/bin/env bash
# The pipeline on this machine in one command: starts the local servers and the services (infra/local/up.sh, which
# installs what is missing and builds the services in Release), ingests the example images, prints what became of
# each and where to look next. Leaves everything running; the last lines say how to stop it.
# Usage: ./demo.sh [IMAGE-FOLDER]   (default: the fixture images next to the repository)
set -euo pipefail
cd "$(dirname "$0")"
command -v jq >/dev/null || { echo "error: jq is needed (apt-get install jq)" >&2; exit 1; }

started=$SECONDS
eval "$(infra/local/up.sh)"
echo "stack and services up in $((SECONDS - started)) s" >&2

images=$(infra/local/ingest-examples.sh "$@")
echo
echo "Images (status, size, file; reason when rejected):"
jq -r '.[] | "  \(.status)\t\(if .width then "\(.width)x\(.height)" else "-" end)\t\(.fileName)\(if .reason then "\t\(.reason)" else "" end)"' <<<"$images"
jq -r 'group_by(.status) | map("\(length) \(.[0].status)") | "  total: " + join(", ")' <<<"$images"

port_open() { timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
echo
echo "Look at:"
echo "  ingestion API        $VQA_INGESTION_URL/collections"
echo "  its OpenAPI document $VQA_INGESTION_URL/openapi/v1.json"
echo "  health and metrics   $VQA_INGESTION_URL/health/ready  http://127.0.0.1:5082/health/ready  $VQA_INGESTION_URL/metrics"
if port_open 15672; then echo "  RabbitMQ management  http://127.0.0.1:15672 (guest/guest)"; fi
if [ -n "${VQA_SEQ_URL:-}" ]; then echo "  Seq (logs)           $VQA_SEQ_URL"; fi
echo "  service logs         ${VQA_STATE_DIR:-/tmp/vqapipeline-local}/logs/"
echo
echo "Stop the services:     infra/local/down.sh --services-only"
echo "Stop everything:       infra/local/down.sh"
