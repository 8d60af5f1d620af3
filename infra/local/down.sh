#!/usr/bin/env bash
# Stops exactly what infra/local/up.sh started (the pid files it recorded). Safe when nothing runs.
# The servers' state is throwaway (up.sh starts each from an empty directory), so nothing waits for a clean shutdown.
# --services-only stops the services and leaves the servers (RabbitMQ, PostgreSQL, s3rver) running.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=settings.sh
source "$here/settings.sh"

servers=(rabbitmq rabbitmq-epmd postgres s3rver)
services_only=false
case "${1:-}" in
  --services-only) services_only=true ;;
  "") ;;
  *) fail "usage: $0 [--services-only]" ;;
esac
is_server() { local name; for name in "${servers[@]}"; do [ "$1" = "$name" ] && return 0; done; return 1; }

# How each kind of process is told to stop: PostgreSQL's SIGQUIT is its immediate shutdown; a throwaway RabbitMQ node
# is killed (a clean stop takes 6-9 s); everything else gets SIGTERM.
stop_signal() {
  case "$1" in
    postgres) echo QUIT ;;
    rabbitmq) echo KILL ;;
    *) echo TERM ;;
  esac
}

[ -d "$VQA_PID_DIR" ] || { say "nothing to stop"; exit 0; }

# All are signalled first and awaited together, so stopping takes as long as the slowest, not the sum.
declare -A stopping=()
for pid_file in "$VQA_PID_DIR"/*.pid; do
  [ -e "$pid_file" ] || continue
  name=$(basename "$pid_file" .pid)
  if [ "$services_only" = true ] && is_server "$name"; then continue; fi
  if pid=$(running_pid "$name"); then
    say "stopping $name (pid $pid)"
    kill -s "$(stop_signal "$name")" "$pid" 2>/dev/null || true
    stopping[$name]=$pid
  fi
done
for _ in $(seq 100); do
  for name in "${!stopping[@]}"; do process_alive "${stopping[$name]}" || unset "stopping[$name]"; done
  [ ${#stopping[@]} -eq 0 ] && break
  sleep 0.05
done
for name in "${!stopping[@]}"; do
  say "$name (pid ${stopping[$name]}) did not stop within 5 s; killing it"
  kill -KILL "${stopping[$name]}" 2>/dev/null || true
done
for pid_file in "$VQA_PID_DIR"/*.pid; do
  [ -e "$pid_file" ] || continue
  if [ "$services_only" = false ] || ! is_server "$(basename "$pid_file" .pid)"; then rm -f "$pid_file"; fi
done
say "stopped"
