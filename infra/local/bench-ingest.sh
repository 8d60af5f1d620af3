#!/usr/bin/env bash
# Measures the pipeline end to end against running services (infra/local/up.sh or ./demo.sh): uploads N distinct
# images (the example images, each made unique by trailing bytes after its end, which decoders ignore) in one
# request, then waits until the preprocessing service has made every one ready or rejected.
# Usage: infra/local/bench-ingest.sh [N] [FOLDER]    prints the ingest and end-to-end rates
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
count="${1:-200}"
folder="${2:-$here/../../../shared/fixtures/images}"
api="${VQA_INGESTION_URL:-http://127.0.0.1:5080}"
# Every API route needs a key (docs/api-keys.md): up.sh prints VQA_API_KEY, an admin key of the team `local`.
auth=(-H "Authorization: Bearer ${VQA_API_KEY:?VQA_API_KEY is not set: eval \"\$(infra/local/up.sh)\" prints it}")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

sources=()
for file in "$folder"/*.png "$folder"/*.jpg; do [ -f "$file" ] && sources+=("$file"); done
[ ${#sources[@]} -gt 0 ] || { echo "error: no .png or .jpg in '$folder'" >&2; exit 1; }
form=()
for i in $(seq 0 $((count - 1))); do
  source=${sources[$((i % ${#sources[@]}))]}
  target="$work/bench-$i.${source##*.}"
  { cat "$source"; printf 'bench %s %s' "$i" "$RANDOM$RANDOM"; } > "$target"
  form+=(-F "files=@$target")
done
bytes=$(cat "$work"/* | wc -c)

id=$(curl -sf "${auth[@]}" -X POST "$api/collections" -H 'Content-Type: application/json' \
  -d "{\"name\": \"bench-$(date +%s%N)\"}" | jq -r .id)
start=$(date +%s.%N)
accepted=$(curl -sf "${auth[@]}" "${form[@]}" "$api/collections/$id/images" | jq '.accepted | length')
uploaded=$(date +%s.%N)
until [ "$(curl -sf "${auth[@]}" "$api/collections/$id/images?status=pending&limit=1" | jq '.items | length')" = 0 ]; do sleep 0.2; done
done_at=$(date +%s.%N)
final=$(VQA_API_URL="$api" "$here/list-all.sh" "/collections/$id/images" | jq -r 'group_by(.status) | map("\(length) \(.[0].status)") | join(", ")')

awk -v n="$accepted" -v mb="$bytes" -v s="$start" -v u="$uploaded" -v d="$done_at" -v f="$final" 'BEGIN {
  printf "%d images (%.1f MB) accepted in %.2f s: %.1f images/s ingested\n", n, mb / 1e6, u - s, n / (u - s);
  printf "all final (%s) after %.2f s: %.1f images/s end to end\n", f, d - s, n / (d - s) }'
