# Sourced by up.sh and down.sh: every setting, each overridable by the environment variable of the same name.
# shellcheck shell=bash

VQA_STATE_DIR=${VQA_STATE_DIR:-/tmp/vqapipeline-local}

VQA_RABBITMQ_PORT=${VQA_RABBITMQ_PORT:-5672}
# Our own epmd port, so the epmd we start is ours to stop and no other Erlang node on the machine is touched.
VQA_RABBITMQ_EPMD_PORT=${VQA_RABBITMQ_EPMD_PORT:-54369}
VQA_RABBITMQ_URL=${VQA_RABBITMQ_URL:-amqp://guest:guest@127.0.0.1:${VQA_RABBITMQ_PORT}/}

VQA_POSTGRES_PORT=${VQA_POSTGRES_PORT:-55432}
VQA_POSTGRES_DB=${VQA_POSTGRES_DB:-vqapipeline}
VQA_POSTGRES_USER=${VQA_POSTGRES_USER:-vqa}
VQA_POSTGRES_PASSWORD=${VQA_POSTGRES_PASSWORD:-vqa}
# The server's own login (it owns the database and may create roles): what operator tools and the tests use.
VQA_POSTGRES=${VQA_POSTGRES:-Host=127.0.0.1;Port=${VQA_POSTGRES_PORT};Database=${VQA_POSTGRES_DB};Username=${VQA_POSTGRES_USER};Password=${VQA_POSTGRES_PASSWORD}}
# Each service logs in as its own role, vqa_<service>, which owns its schema and nothing else (provision.sql).
VQA_POSTGRES_SERVICE_PASSWORD=${VQA_POSTGRES_SERVICE_PASSWORD:-vqa-services-local}
service_postgres() {
  echo "Host=127.0.0.1;Port=${VQA_POSTGRES_PORT};Database=${VQA_POSTGRES_DB};Username=vqa_$1;Password=${VQA_POSTGRES_SERVICE_PASSWORD}"
}

VQA_S3_PORT=${VQA_S3_PORT:-9000}
VQA_S3_ENDPOINT=${VQA_S3_ENDPOINT:-http://127.0.0.1:${VQA_S3_PORT}}
VQA_S3_ACCESS_KEY=${VQA_S3_ACCESS_KEY:-S3RVER}
# s3rver checks only the access key; the secret is the one MinIO (docker-compose.yml) needs, at least 8 characters.
VQA_S3_SECRET_KEY=${VQA_S3_SECRET_KEY:-S3RVER-secret}
VQA_S3_BUCKET=${VQA_S3_BUCKET:-vqa-images}

# The one public base URL: the gateway. VQA_INGESTION_URL and VQA_SEARCH_URL name it too, for the scripts that read them.
VQA_API_URL=${VQA_API_URL:-http://127.0.0.1:5080}
VQA_INGESTION_URL=${VQA_INGESTION_URL:-$VQA_API_URL}
VQA_SEARCH_URL=${VQA_SEARCH_URL:-$VQA_API_URL}

# What up.sh prints as `export NAME=value` lines (and what the smoke tests read).
VQA_EXPORTED_SETTINGS=(VQA_RABBITMQ_URL VQA_POSTGRES VQA_POSTGRES_SERVICE_PASSWORD VQA_S3_ENDPOINT VQA_S3_ACCESS_KEY
  VQA_S3_SECRET_KEY VQA_S3_BUCKET VQA_API_URL VQA_INGESTION_URL VQA_SEARCH_URL)

# Everything up.sh starts records its pid here as <name>.pid; down.sh stops exactly those.
VQA_PID_DIR="$VQA_STATE_DIR/pids"
VQA_LOG_DIR="$VQA_STATE_DIR/logs"

say() { echo "[infra/local] $*" >&2; }
fail() { say "ERROR: $*"; exit 1; }

port_open() { timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# A stopped process stays a zombie until its parent reaps it, and ours are orphans whose reaper may be slow: a zombie
# counts as gone.
process_alive() {
  local stat state
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  state=${stat##*) }
  [ "${state:0:1}" != Z ]
}

# The pid recorded for NAME, if that process is still alive.
running_pid() {
  local pid_file="$VQA_PID_DIR/$1.pid" pid
  [ -f "$pid_file" ] || return 1
  pid=$(cat "$pid_file")
  [ -n "$pid" ] && process_alive "$pid" && echo "$pid"
}
