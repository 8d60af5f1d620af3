#!/usr/bin/env bash
# Creates a collection, uploads every image of a folder (default: the example scenes, examples/images) to the
# ingestion API, and waits until the preprocessing service has marked each one ready or rejected.
# Usage: infra/local/ingest-examples.sh [FOLDER] [COLLECTION-NAME]   (the stack must be up: infra/local/up.sh)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
folder="${1:-$here/../../examples/images}"
name="${2:-examples-$(date +%Y%m%d-%H%M%S)}"
api="${VQA_INGESTION_URL:-http://127.0.0.1:5080}"
# Every API route needs a key (docs/api-keys.md): up.sh prints VQA_API_KEY, an admin key of the team `local`.
auth=(-H "Authorization: Bearer ${VQA_API_KEY:?VQA_API_KEY is not set: eval \"\$(infra/local/up.sh)\" prints it}")
[ -d "$folder" ] || { echo "error: no folder '$folder'" >&2; exit 1; }
command -v curl >/dev/null || { echo "error: curl is needed" >&2; exit 1; }
command -v jq >/dev/null || { echo "error: jq is needed" >&2; exit 1; }

created=$(curl -sf "${auth[@]}" -X POST "$api/collections" -H 'Content-Type: application/json' -d "{\"name\": \"$name\"}") \
  || { echo "error: the ingestion API at $api did not create the collection (is infra/local/up.sh running?)" >&2; exit 1; }
id=$(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' <<<"$created")
form=()
for file in "$folder"/*; do [ -f "$file" ] && form+=(-F "files=@$file"); done
[ ${#form[@]} -gt 0 ] || { echo "error: no files in '$folder'" >&2; exit 1; }
curl -sf "${auth[@]}" "${form[@]}" "$api/collections/$id/images" >/dev/null || { echo "error: upload failed" >&2; exit 1; }
echo "collection $name ($id): uploaded $((${#form[@]} / 2)) files" >&2

for _ in $(seq 1 60); do
  pending=$(curl -sf "${auth[@]}" "$api/collections/$id/images?status=pending&limit=1" | jq '.items | length')
  [ "$pending" = 0 ] && break
  sleep 1
done
# Every image, all pages, as one JSON array.
VQA_API_URL="$api" "$here/list-all.sh" "/collections/$id/images"
echo
