#!/usr/bin/env bash
# Prints every item of one list route of the API as one JSON array, following nextCursor page by page (every list
# answers {"items": [...], "nextCursor": "…" | null}; docs/api.md, "Lists and pagination").
# Usage: infra/local/list-all.sh PATH   e.g. infra/local/list-all.sh "/collections/$id/images?status=ready"
#   Base URL: $VQA_API_URL, else $VQA_INGESTION_URL, else the local gateway; key: $VQA_API_KEY.
set -euo pipefail
path="${1:?usage: infra/local/list-all.sh PATH}"
api="${VQA_API_URL:-${VQA_INGESTION_URL:-http://127.0.0.1:5080}}"
auth=(-H "Authorization: Bearer ${VQA_API_KEY:?VQA_API_KEY is not set: eval \"\$(infra/local/up.sh)\" prints it}")
command -v jq >/dev/null || { echo "error: jq is needed" >&2; exit 1; }
separator='?'
[[ "$path" == *'?'* ]] && separator='&'
pages=()
cursor=""
while :; do
  url="$api$path${separator}limit=1000"
  [ -n "$cursor" ] && url="$url&cursor=$(jq -rn --arg c "$cursor" '$c | @uri')"
  page=$(curl -sf "${auth[@]}" "$url") || { echo "error: GET $path failed at $api" >&2; exit 1; }
  pages+=("$(jq -c '.items' <<<"$page")")
  cursor=$(jq -r '.nextCursor // empty' <<<"$page")
  [ -n "$cursor" ] || break
done
printf '%s\n' "${pages[@]}" | jq -s 'add'
