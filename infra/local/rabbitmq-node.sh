#!/usr/bin/env bash
# A private RabbitMQ node for tests that must stop or restart a broker without touching the shared one:
#   infra/local/rabbitmq-node.sh start|stop|restart DIR PORT
# The node listens for AMQP on 127.0.0.1:PORT, uses PORT+1 for Erlang distribution and an epmd of its own on PORT+2,
# and keeps everything (data, logs, pid files, cookie) under DIR, which survives restart and stop. `stop` kills the
# node and its epmd; `restart` kills only the node (as a crash would) and starts it again on the same data.
# Prints nothing on stdout; returns once the node accepts AMQP connections.
set -euo pipefail
command=${1:-}; dir=${2:-}; port=${3:-}
[[ "$command" =~ ^(start|stop|restart)$ && -n "$dir" && "$port" =~ ^[0-9]+$ ]] \
  || { echo "usage: $0 start|stop|restart DIR PORT" >&2; exit 2; }
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

export HOME="$dir" ERL_EPMD_ADDRESS=127.0.0.1 ERL_EPMD_PORT=$((port + 2))
export RABBITMQ_NODENAME="vqa-private-$port@localhost" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export RABBITMQ_NODE_PORT="$port" RABBITMQ_DIST_PORT=$((port + 1))
export RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log" RABBITMQ_PID_FILE="$dir/rabbitmq.pid"
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
export RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf"
export RABBITMQ_CONFIG_FILE="$dir/rabbitmq" RABBITMQ_ADVANCED_CONFIG_FILE="$dir/advanced.config"

# A killed process stays a zombie until its (new) parent reaps it: a zombie counts as gone.
running() { local stat; stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1; stat=${stat##*) }; [ "${stat:0:1}" != Z ]; }
alive() { [ -f "$1" ] && running "$(cat "$1")"; }
port_open() { timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

kill_recorded() {
  local pid_file=$1
  if alive "$pid_file"; then
    local pid; pid=$(cat "$pid_file")
    kill -KILL "$pid" 2>/dev/null || true
    for _ in $(seq 100); do running "$pid" || break; sleep 0.05; done
  fi
  rm -f "$pid_file"
}

start() {
  [ -f "$RABBITMQ_ENABLED_PLUGINS_FILE" ] || echo '[].' > "$RABBITMQ_ENABLED_PLUGINS_FILE"
  touch "$RABBITMQ_CONF_ENV_FILE" "$RABBITMQ_CONFIG_FILE.conf"
  if ! alive "$dir/epmd.pid"; then
    setsid epmd -address 127.0.0.1 -port "$ERL_EPMD_PORT" </dev/null >"$dir/epmd.log" 2>&1 &
    echo $! > "$dir/epmd.pid"
    for _ in $(seq 100); do port_open "$ERL_EPMD_PORT" && break; sleep 0.05; done
  fi
  alive "$dir/node.pid" && port_open "$port" && return 0
  rm -f "$RABBITMQ_PID_FILE"
  # In the foreground (see up.sh), so the recorded pid is the node's own.
  RUNNING_UNDER_SYSTEMD=true setsid /usr/lib/rabbitmq/bin/rabbitmq-server </dev/null >>"$dir/node.log" 2>&1 &
  echo $! > "$dir/node.pid"
  local deadline=$((SECONDS + 20))
  until [ -s "$RABBITMQ_PID_FILE" ]; do
    alive "$dir/node.pid" || { echo "RabbitMQ node exited during startup; see $dir/node.log" >&2; exit 1; }
    [ "$SECONDS" -lt "$deadline" ] || { echo "RabbitMQ node wrote no pid file within 20 s" >&2; exit 1; }
    sleep 0.1
  done
  /usr/lib/rabbitmq/bin/rabbitmqctl wait "$RABBITMQ_PID_FILE" --timeout 60 >>"$dir/wait.log" 2>&1 \
    || { echo "RabbitMQ node not ready within 60 s; see $dir/node.log" >&2; exit 1; }
  deadline=$((SECONDS + 10))
  until port_open "$port"; do
    [ "$SECONDS" -lt "$deadline" ] || { echo "RabbitMQ node did not open port $port" >&2; exit 1; }
    sleep 0.1
  done
}

case "$command" in
  start) start ;;
  restart) kill_recorded "$dir/node.pid"; start ;;
  stop) kill_recorded "$dir/node.pid"; kill_recorded "$dir/epmd.pid" ;;
esac
