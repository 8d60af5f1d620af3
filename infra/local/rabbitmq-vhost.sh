#!/usr/bin/env bash
# Adds or deletes a virtual host on the local RabbitMQ node that up.sh starts, guest being given every permission on
# it. Test fixtures use one each, so that the messages of one test assembly never reach another's queues; the node has
# no management plugin, hence rabbitmqctl, with the environment up.sh starts the node with.
#   infra/local/rabbitmq-vhost.sh add NAME | delete NAME | queues NAME (each queue and its message count)
set -euo pipefail
# shellcheck source=settings.sh
source "$(dirname "${BASH_SOURCE[0]}")/settings.sh"

[ $# -eq 2 ] && [ -n "$2" ] || { echo "usage: $0 add|delete|queues NAME" >&2; exit 2; }
# The node's cookie lives in its HOME; the node name and epmd port are up.sh's (rabbitmq_env).
export HOME="$VQA_STATE_DIR/rabbitmq" ERL_EPMD_ADDRESS=127.0.0.1 ERL_EPMD_PORT="$VQA_RABBITMQ_EPMD_PORT"
export RABBITMQ_NODENAME=vqapipeline@localhost
ctl=/usr/lib/rabbitmq/bin/rabbitmqctl
case $1 in
  add) "$ctl" -q add_vhost "$2" && "$ctl" -q set_permissions -p "$2" guest '.*' '.*' '.*' ;;
  delete) "$ctl" -q delete_vhost "$2" ;;
  queues) "$ctl" -q list_queues -p "$2" name messages ;;
  *) echo "usage: $0 add|delete|queues NAME" >&2; exit 2 ;;
esac
