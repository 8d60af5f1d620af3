#!/usr/bin/env bash
# The one test command: starts what the tests need, runs every test in the solution, stops what it started,
# and ends with a plain "N passed, N failed" line.
set -uo pipefail
cd "$(dirname "$0")"

results_dir=$(mktemp -d)
cleanup() {
  if [ -x infra/local/down.sh ] && [ -n "${VQA_STARTED_INFRA:-}" ]; then infra/local/down.sh >&2 || true; fi
  rm -rf "$results_dir"
}
trap cleanup EXIT

if [ -x infra/local/up.sh ]; then
  # Set before up.sh runs, so that a half-finished start is still stopped by down.sh.
  VQA_STARTED_INFRA=1
  stack_settings=$(infra/local/up.sh --infra-only) || { echo "infra/local/up.sh failed" >&2; echo "0 passed, 1 failed"; exit 1; }
  eval "$stack_settings"
  export VQA_REQUIRE_STACK=1
fi

dotnet test VqaPipeline.sln --logger "trx" --results-directory "$results_dir" "$@" 2>&1 | tee "$results_dir/console.log"
status=${PIPESTATUS[0]}

passed=0; failed=0
for trx in "$results_dir"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters"); f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
done
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; echo "dotnet test exited with $status (build or runner failure)" >&2; fi
# Stop the stack first, so the summary is the last line printed.
cleanup; trap - EXIT
echo "$passed passed, $failed failed"
exit "$status"
