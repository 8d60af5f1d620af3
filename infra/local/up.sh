#!/usr/bin/env bash
# Starts what VqaPipeline needs as plain processes on 127.0.0.1 (no Docker, no systemd): RabbitMQ, PostgreSQL and an
# S3-compatible store (s3rver), installing whatever is missing first; then, without --infra-only, the built services.
# Progress goes to stderr; stdout carries only `export NAME=value` lines, so `eval "$(infra/local/up.sh)"` configures
# a shell. Idempotent: a server already running from an earlier call (pid file + open port) is left as it is.
# Each server starts from an empty directory under $VQA_STATE_DIR: its data is throwaway. Stop with down.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=settings.sh
source "$here/settings.sh"

infra_only=false
case "${1:-}" in
  --infra-only) infra_only=true ;;
  "") ;;
  *) fail "usage: $0 [--infra-only]" ;;
esac

S3RVER_VERSION=3.7.1
s3rver_dir="$here/.cache/node_modules/s3rver"

# The built services up.sh starts after the servers, as "name|port|command" (the command runs in the repository root
# with the exported settings in its environment, each service logging in to PostgreSQL as its own role); up.sh builds
# them (Release). The gateway (5080) is the public base URL; the others keep their own ports for direct access.
services=(
  "ingestion|5085|ASPNETCORE_URLS=http://127.0.0.1:5085 VQA_POSTGRES='$(service_postgres ingestion)' exec dotnet services/VqaPipeline.Ingestion/bin/Release/net10.0/VqaPipeline.Ingestion.dll"
  "preprocessing|5082|ASPNETCORE_URLS=http://127.0.0.1:5082 VQA_POSTGRES='$(service_postgres preprocessing)' exec dotnet services/VqaPipeline.Preprocessing/bin/Release/net10.0/VqaPipeline.Preprocessing.dll"
  "indexing|5081|ASPNETCORE_URLS=http://127.0.0.1:5081 VQA_POSTGRES='$(service_postgres indexing)' exec dotnet services/VqaPipeline.Indexing/bin/Release/net10.0/VqaPipeline.Indexing.dll"
  "training|5084|ASPNETCORE_URLS=http://127.0.0.1:5084 VQA_POSTGRES='$(service_postgres training)' Training__WorkFolder=$VQA_STATE_DIR/training exec dotnet services/VqaPipeline.Training/bin/Release/net10.0/linux-x64/VqaPipeline.Training.dll"
  "inference|5083|ASPNETCORE_URLS=http://127.0.0.1:5083 VQA_POSTGRES='$(service_postgres inference)' exec dotnet services/VqaPipeline.Inference/bin/Release/net10.0/linux-x64/VqaPipeline.Inference.dll"
  "gateway|5080|ASPNETCORE_URLS=http://127.0.0.1:5080 VQA_POSTGRES='$(service_postgres gateway)' exec dotnet services/VqaPipeline.Gateway/bin/Release/net10.0/VqaPipeline.Gateway.dll"
)

postgres_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

apt_install() {
  local -a packages=("$@")
  say "installing ${packages[*]} (apt-get)"
  # Package scripts must not start the system-wide servers (they would take our ports): a policy-rc.d saying 101
  # forbids that. Docker images ship one; elsewhere one is put in place for the duration of the install.
  local own_policy=false
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && own_policy=true
  fi
  local status=0
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q --no-install-recommends "${packages[@]}" >&2; then
    say "apt-get install failed; refreshing the package lists once and retrying"
    { apt-get update -q >&2 && apt-get install -y -q --no-install-recommends "${packages[@]}" >&2; } || status=$?
  fi
  if [ "$own_policy" = true ]; then rm -f /usr/sbin/policy-rc.d; fi
  [ "$status" -eq 0 ] || fail "could not install ${packages[*]} with apt-get"
}

install_missing() {
  local -a missing=()
  [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || missing+=(rabbitmq-server)
  [ -n "$(postgres_bin)" ] || missing+=(postgresql)
  command -v npm >/dev/null || missing+=(nodejs npm)
  command -v curl >/dev/null || missing+=(curl) # up.sh checks the stack through the gateway
  command -v ip >/dev/null || [ -x /usr/sbin/ip ] || missing+=(iproute2) # the isolated-worker test (network namespaces)
  [ -x /usr/bin/chromium ] || missing+=(chromium) # the web page's browser tests (tests/VqaPipeline.Web.Tests)
  if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi

  if [ "$(node -p "require('$s3rver_dir/package.json').version" 2>/dev/null)" != "$S3RVER_VERSION" ]; then
    say "installing s3rver@$S3RVER_VERSION (npm) into $here/.cache"
    npm install --prefix "$here/.cache" --no-save --no-audit --no-fund --loglevel=error "s3rver@$S3RVER_VERSION" >&2 \
      || fail "npm install s3rver@$S3RVER_VERSION failed"
  fi
  patch_s3rver
}

# Two s3rver 3.7.1 bugs break the Minio SDK (see /work/shared/notes/infra-local.md): a wrong XML namespace (ListObjects
# then returns nothing) and decodeURI on x-amz-copy-source (CopyObject then fails). Both edits are idempotent.
patch_s3rver() {
  local controllers="$s3rver_dir/lib/controllers"
  sed -i 's#http://doc\.s3\.amazonaws\.com/2006-03-01/#http://s3.amazonaws.com/doc/2006-03-01/#g' "$controllers"/*.js
  sed -i "s#decodeURI(ctx\.headers\['x-amz-copy-source'\])#decodeURIComponent(ctx.headers['x-amz-copy-source'])#" \
    "$controllers/object.js"
  if grep -q 'doc\.s3\.amazonaws\.com' "$controllers"/*.js || ! grep -q "decodeURIComponent(ctx.headers\['x-amz-copy-source'\])" "$controllers/object.js"; then
    fail "could not patch s3rver in $s3rver_dir (did its source change?)"
  fi
}

# True when NAME is already up from an earlier call. A stale pid file is removed; a port held by someone else is an
# error, since a server we did not start would silently stand in for ours.
already_running() {
  local name=$1 port=$2
  if running_pid "$name" >/dev/null && port_open "$port"; then
    say "$name already running (pid $(running_pid "$name"), port $port)"
    return 0
  fi
  rm -f "$VQA_PID_DIR/$name.pid"
  if port_open "$port"; then
    fail "port $port, wanted for $name, is taken by a process up.sh did not start; stop it or set another port (see infra/README.md)"
  fi
  return 1
}

wait_for_port() {
  local name=$1 port=$2 timeout_s=$3
  local deadline=$((SECONDS + timeout_s))
  until port_open "$port"; do
    running_pid "$name" >/dev/null || fail "$name exited during startup; see $VQA_LOG_DIR/$name.log"
    [ "$SECONDS" -lt "$deadline" ] || fail "$name did not open port $port within $timeout_s s; see $VQA_LOG_DIR/$name.log"
    sleep 0.1
  done
}

# Starts a foreground program in the background, detached from this script's terminal and output (so that
# `$(up.sh)` returns), and records its pid.
start_background() {
  local name=$1; shift
  setsid "$@" </dev/null >"$VQA_LOG_DIR/$name.log" 2>&1 &
  echo $! > "$VQA_PID_DIR/$name.pid"
}

fresh_dir() { rm -rf "$1" && mkdir -p "$1"; }

rabbitmq_env() {
  local dir="$VQA_STATE_DIR/rabbitmq"
  export HOME="$dir" ERL_EPMD_ADDRESS=127.0.0.1 ERL_EPMD_PORT="$VQA_RABBITMQ_EPMD_PORT"
  export RABBITMQ_NODENAME=vqapipeline@localhost RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
  export RABBITMQ_NODE_PORT="$VQA_RABBITMQ_PORT" RABBITMQ_DIST_PORT=$((VQA_RABBITMQ_PORT + 20000))
  export RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log" RABBITMQ_PID_FILE="$dir/rabbitmq.pid"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf"
  export RABBITMQ_CONFIG_FILE="$dir/rabbitmq" RABBITMQ_ADVANCED_CONFIG_FILE="$dir/advanced.config"
}

# RabbitMQ boots in 5-8 s, the longest of the three, so it is started first and awaited last.
rabbitmq_starting=false
start_rabbitmq() {
  already_running rabbitmq "$VQA_RABBITMQ_PORT" && return 0
  say "starting RabbitMQ on 127.0.0.1:$VQA_RABBITMQ_PORT"
  rabbitmq_starting=true
  local dir="$VQA_STATE_DIR/rabbitmq"
  fresh_dir "$dir"
  ( rabbitmq_env
    echo '[].' > "$RABBITMQ_ENABLED_PLUGINS_FILE"
    touch "$RABBITMQ_CONF_ENV_FILE" "$RABBITMQ_CONFIG_FILE.conf"
    # An epmd of our own (own port, in the foreground) gives down.sh a pid to stop.
    if ! already_running rabbitmq-epmd "$VQA_RABBITMQ_EPMD_PORT"; then
      start_background rabbitmq-epmd epmd -address 127.0.0.1 -port "$VQA_RABBITMQ_EPMD_PORT"
      wait_for_port rabbitmq-epmd "$VQA_RABBITMQ_EPMD_PORT" 10
    fi
    # In the foreground (RUNNING_UNDER_SYSTEMD makes the script exec the VM instead of wrapping it), so the pid
    # start_background records is the node's own from the first moment, even if up.sh fails before it is ready.
    RUNNING_UNDER_SYSTEMD=true start_background rabbitmq /usr/lib/rabbitmq/bin/rabbitmq-server )
}

await_rabbitmq() {
  ( rabbitmq_env
    local deadline=$((SECONDS + 10))
    until [ -s "$RABBITMQ_PID_FILE" ]; do
      running_pid rabbitmq >/dev/null || fail "RabbitMQ exited during startup; see $VQA_LOG_DIR/rabbitmq.log"
      [ "$SECONDS" -lt "$deadline" ] || fail "RabbitMQ wrote no pid file within 10 s; see $VQA_LOG_DIR/rabbitmq.log"
      sleep 0.1
    done
    # `rabbitmqctl await_startup` right after a start fails; `wait <pidfile>` does not.
    /usr/lib/rabbitmq/bin/rabbitmqctl wait "$RABBITMQ_PID_FILE" --timeout 60 >"$VQA_LOG_DIR/rabbitmqctl-wait.log" 2>&1 \
      || fail "RabbitMQ did not become ready within 60 s; see $VQA_LOG_DIR/rabbitmq.log and $RABBITMQ_LOG_BASE" )
  wait_for_port rabbitmq "$VQA_RABBITMQ_PORT" 10
  say "RabbitMQ ready"
}

start_postgres() {
  already_running postgres "$VQA_POSTGRES_PORT" && return 0
  say "starting PostgreSQL on 127.0.0.1:$VQA_POSTGRES_PORT"
  local bin data="$VQA_STATE_DIR/postgres" log="$VQA_LOG_DIR/postgres.log"
  bin=$(postgres_bin)
  fresh_dir "$data"
  : > "$log"
  chown postgres: "$data" "$log" && chmod 700 "$data"
  # initdb refuses to run as root, hence runuser; fsync and friends are off because the data is throwaway.
  runuser -u postgres -- "$bin/initdb" -D "$data" -U postgres -E UTF8 --no-locale --no-sync \
    --auth-local=trust --auth-host=scram-sha-256 >>"$log" 2>&1 || fail "PostgreSQL initdb failed; see $log"
  # max_connections: test classes run whole stacks side by side, every service with a pool of its own.
  runuser -u postgres -- "$bin/pg_ctl" -D "$data" -l "$log" -w -t 30 start -o "-c port=$VQA_POSTGRES_PORT \
    -c listen_addresses=127.0.0.1 -c unix_socket_directories=$data -c fsync=off -c synchronous_commit=off -c max_connections=500 \
    -c full_page_writes=off" </dev/null >>"$log" 2>&1 || fail "PostgreSQL did not become ready within 30 s; see $log"
  head -n 1 "$data/postmaster.pid" > "$VQA_PID_DIR/postgres.pid"
  "$bin/psql" -h "$data" -p "$VQA_POSTGRES_PORT" -U postgres -d postgres -q -v ON_ERROR_STOP=1 \
    -v user="$VQA_POSTGRES_USER" -v password="$VQA_POSTGRES_PASSWORD" -v db="$VQA_POSTGRES_DB" >>"$log" 2>&1 \
    <<'SQL' || fail "could not create the PostgreSQL user and database; see $log"
CREATE ROLE :"user" LOGIN CREATEDB CREATEROLE PASSWORD :'password';
-- Dropping a database (the tests' scratch databases) ends the sessions in it, the services' roles' included.
GRANT pg_signal_backend TO :"user";
CREATE DATABASE :"db" OWNER :"user";
SQL
  say "PostgreSQL ready"
}

# One role and one schema per service (shared/VqaPipeline.Data/Provisioning/provision.sql), as the database's owner.
provision_postgres() {
  local log="$VQA_LOG_DIR/postgres.log"
  PGPASSWORD="$VQA_POSTGRES_PASSWORD" "$(postgres_bin)/psql" -h 127.0.0.1 -p "$VQA_POSTGRES_PORT" -U "$VQA_POSTGRES_USER" \
    -d "$VQA_POSTGRES_DB" -q -v ON_ERROR_STOP=1 \
    -c "SELECT set_config('vqa.service_password', '$VQA_POSTGRES_SERVICE_PASSWORD', false)" \
    -f "$here/../../shared/VqaPipeline.Data/Provisioning/provision.sql" >>"$log" 2>&1 \
    || fail "could not create the services' roles and schemas; see $log"
}

start_s3() {
  already_running s3rver "$VQA_S3_PORT" && return 0
  say "starting s3rver on 127.0.0.1:$VQA_S3_PORT (bucket $VQA_S3_BUCKET)"
  fresh_dir "$VQA_STATE_DIR/s3"
  start_background s3rver node "$s3rver_dir/bin/s3rver.js" --address 127.0.0.1 --port "$VQA_S3_PORT" \
    --directory "$VQA_STATE_DIR/s3" --configure-bucket "$VQA_S3_BUCKET"
  wait_for_port s3rver "$VQA_S3_PORT" 15
  say "s3rver ready"
}

start_service() {
  local name port command
  IFS='|' read -r name port command <<<"$1"
  already_running "$name" "$port" && return 0
  say "starting $name on 127.0.0.1:$port"
  (cd "$here/../.." && start_background "$name" bash -c "$command")
  wait_for_port "$name" "$port" 60
}

mkdir -p "$VQA_PID_DIR" "$VQA_LOG_DIR"
chmod 755 "$VQA_STATE_DIR"
install_missing
start_rabbitmq
start_postgres
provision_postgres
start_s3
if [ "$rabbitmq_starting" = true ]; then await_rabbitmq; fi
for setting in "${VQA_EXPORTED_SETTINGS[@]}"; do export "${setting?}"; done
if [ "$infra_only" = false ] && [ ${#services[@]} -gt 0 ]; then
  say "building the services (Release)"
  for project in services/VqaPipeline.Ingestion services/VqaPipeline.Preprocessing services/VqaPipeline.Indexing services/VqaPipeline.Training services/VqaPipeline.Inference services/VqaPipeline.Gateway; do
    (cd "$here/../.." && dotnet build "$project" -c Release --nologo -v quiet >>"$VQA_LOG_DIR/build.log" 2>&1) \
      || fail "building $project failed; see $VQA_LOG_DIR/build.log"
  done
  # The secret the gateway puts on every request it forwards, which every service checks (docs/api-keys.md): one per
  # state folder, so services started by an earlier call share it with those started now.
  gateway_secret_file="$VQA_STATE_DIR/gateway-secret"
  if [ ! -s "$gateway_secret_file" ]; then
    (umask 077 && head -c 32 /dev/urandom | base64 | tr -d '\n=' >"$gateway_secret_file")
  fi
  Gateway__InternalSecret=$(cat "$gateway_secret_file")
  export Gateway__InternalSecret
  for service in ${services[@]+"${services[@]}"}; do start_service "$service"; done
  # An admin key of team `local` for the API (the CLI, the scripts, curl): VQA_API_KEY.
  VQA_API_KEY=$("$here/api-key.sh") || fail "could not make an API key; see above"
  # A request through the gateway to a service behind it: the key, the gateway's routing and the shared secret.
  curl -sf -o /dev/null -H "Authorization: Bearer $VQA_API_KEY" "$VQA_API_URL/collections?limit=1" \
    || fail "GET $VQA_API_URL/collections through the gateway failed with the new key; see $VQA_LOG_DIR/gateway.log and ingestion.log"
  VQA_EXPORTED_SETTINGS+=(VQA_API_KEY)
fi
for setting in "${VQA_EXPORTED_SETTINGS[@]}"; do printf 'export %s=%q\n' "$setting" "${!setting}"; done
say "up; logs in $VQA_LOG_DIR, stop with infra/local/down.sh"
