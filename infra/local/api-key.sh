#!/usr/bin/env bash
# Prints an admin API key of the team `local` for the stack VQA_POSTGRES and VQA_API_URL name (infra/local/up.sh's
# or docker-compose.yml's): the key it printed before while the gateway still accepts it, else a new one, made with
# `vqa admin` on the gateway's schema (creating the team when it is absent, as the owner of the data stored before
# teams: --adopt-existing). Progress goes to stderr, the key alone
# to stdout. The gateway must have started once (it creates its schema).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=settings.sh
source "$here/settings.sh"

key_file="$VQA_STATE_DIR/api-key"
if [ -s "$key_file" ] && curl -sf -o /dev/null -H "Authorization: Bearer $(cat "$key_file")" "$VQA_API_URL/me"; then
  cat "$key_file"
  exit 0
fi
export VQA_POSTGRES
say "creating an admin key of team 'local' (vqa admin)"
"$here/../../vqa" admin team create local --adopt-existing --if-absent --json >/dev/null || fail "vqa admin team create local failed"
created=$("$here/../../vqa" admin key create --team local --role admin --json) || fail "vqa admin key create failed"
key=$(sed -n 's/.*"key":"\([^"]*\)".*/\1/p' <<<"$created")
[ -n "$key" ] || fail "vqa admin key create printed no key: $created"
mkdir -p "$VQA_STATE_DIR"
(umask 077 && printf '%s\n' "$key" > "$key_file")
echo "$key"
