#!/usr/bin/env bash
# The whole system on this machine in one command: starts the servers and the services (docker compose where a Docker
# engine runs; otherwise infra/local/up.sh, which installs what is missing and builds the services in Release),
# ingests the example scenes (examples/), asks them questions with a question job run by the bundled model, prints
# the answers next to the truth, runs a retrieval query ("Is there a red circle?" → ranked images) and says where to
# look next. Leaves everything running; the last lines say how to stop it.
# Usage: ./demo.sh [IMAGE-FOLDER]   (default: examples/images; other folders get answers without the truth column)
set -euo pipefail
cd "$(dirname "$0")"
command -v jq >/dev/null || { echo "error: jq is needed (apt-get install jq)" >&2; exit 1; }
folder=${1:-examples/images}
[ -d "$folder" ] || { echo "error: no folder '$folder'" >&2; exit 1; }
# The truth about each scene, when the folder is a `vqa data synth --scenes` output like examples/.
scenes_file="$(dirname "$folder")/scenes.json"
[ -f "$scenes_file" ] || scenes_file=""

# Docker Compose where a Docker engine answers (docker-compose.yml publishes the same ports), the local processes of
# infra/local/up.sh otherwise; VQA_DEMO_STACK=local or =docker chooses.
stack=${VQA_DEMO_STACK:-auto}
case $stack in
  auto) if command -v docker >/dev/null && docker info >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
          stack=docker; else stack=local; fi ;;
  local|docker) ;;
  *) echo "error: VQA_DEMO_STACK is '$stack'; use local or docker" >&2; exit 1 ;;
esac
started=$SECONDS
if [ "$stack" = docker ]; then
  # Compose takes every credential from .env (docs/operations.md#secrets); a first demo writes one of random values.
  if [ ! -f .env ]; then
    command -v openssl >/dev/null || { echo "error: no .env, and no openssl to make one: copy .env.example to .env and fill it" >&2; exit 1; }
    (umask 077; sed -E 's/^([A-Z0-9_]+)=$/echo "\1=$(openssl rand -hex 32)"/e' .env.example >.env)
    echo "wrote .env with random credentials (keep it; the volumes are made with them)" >&2
  fi
  docker compose up -d --build >&2 || { echo "error: docker compose up failed (see above)" >&2; exit 1; }
  # One public base URL, the gateway, as with infra/local/up.sh.
  export VQA_API_URL=http://127.0.0.1:5080 VQA_INGESTION_URL=http://127.0.0.1:5080 VQA_SEARCH_URL=http://127.0.0.1:5080 \
    VQA_SEQ_URL=http://127.0.0.1:5341
  all_ready() { # only the gateway is published; compose starts it once every service behind it is healthy
    curl -sf "http://127.0.0.1:5080/health/ready" >/dev/null
  }
  ready=""
  for _ in $(seq 1 180); do all_ready && { ready=1; break; }; sleep 2; done
  [ -n "$ready" ] || { echo "error: the services were not ready within 6 minutes; see docker compose ps and docker compose logs" >&2; exit 1; }
  # An admin key of the team `local`, made with `vqa admin` on the compose database (infra/local/up.sh does the same),
  # through PostgreSQL's port on 127.0.0.1 as the database's owner.
  VQA_POSTGRES="Host=127.0.0.1;Port=55432;Database=vqapipeline;Username=vqa;Password=$(sed -n 's/^VQA_POSTGRES_PASSWORD=//p' .env)"
  export VQA_POSTGRES
  VQA_API_KEY=$(infra/local/api-key.sh) || { echo "error: could not make an API key (see above)" >&2; exit 1; }
  export VQA_API_KEY
  logs_hint="docker compose logs inference"
else
  eval "$(infra/local/up.sh)"
  logs_hint="${VQA_STATE_DIR:-/tmp/vqapipeline-local}/logs/inference.log"
fi
echo "stack ($stack) and services up in $((SECONDS - started)) s" >&2

api=$VQA_INGESTION_URL
search_api=$VQA_SEARCH_URL
# Every API route needs the key (docs/api-keys.md); health checks and the OpenAPI document do not.
auth=(-H "Authorization: Bearer $VQA_API_KEY")
name="demo-$(date +%Y%m%d-%H%M%S)"
images=$(infra/local/ingest-examples.sh "$folder" "$name")
collection=$(VQA_API_URL="$api" infra/local/list-all.sh /collections | jq -r --arg name "$name" '.[] | select(.name == $name) | .id')
echo
echo "Images (status, size, file; reason when rejected):"
jq -r '.[] | "  \(.status)\t\(if .width then "\(.width)x\(.height)" else "-" end)\t\(.fileName)\(if .reason then "\t\(.reason)" else "" end)"' <<<"$images"
jq -r 'group_by(.status) | map("\(length) \(.[0].status)") | "  total: " + join(", ")' <<<"$images"

# What a scene's objects say the answer is, for the questions below (jq over scenes.json).
# "-": the question does not apply (no red triangle in the scene).
truth_program='
  def objects: .objects;
  def count(f): [objects[] | select(f)] | length;
  def yesno(b): if b then "yes" else "no" end;
  def place(o; side): ["top left", "top", "top right", "left", "middle", "right", "bottom left", "bottom", "bottom right"]
    [((o.y * 3 / side) | floor) * 3 + ((o.x * 3 / side) | floor)];
  .width as $side
  | [objects[] | select(.color == "red" and .shape == "triangle")] as $red_triangles
  | { "How many objects are there?": (objects | length | tostring),
      "Is there a blue object?": yesno(count(.color == "blue") > 0),
      "How many triangles are there?": (count(.shape == "triangle") | tostring),
      "Where is the red triangle?": (if ($red_triangles | length) == 1 then place($red_triangles[0]; $side) else "-" end),
      "Is there a red circle?": yesno(count(.color == "red" and .shape == "circle") > 0) }'
truth() { # FILE QUESTION
  [ -n "$scenes_file" ] || return 0
  jq -r --arg file "$1" --arg question "$2" ".scenes[] | select(.file_name == \$file) | $truth_program | .[\$question] // empty" "$scenes_file"
}

echo
echo "Question job (no model named: the bundled model, shared/models/vilt-shapes):"
questions='["How many objects are there?", "Is there a blue object?", "How many triangles are there?", "Where is the red triangle?"]'
job=$(curl -sf "${auth[@]}" -X POST "$api/jobs" -H 'Content-Type: application/json' \
  -d "{\"collectionId\": \"$collection\", \"questions\": $questions, \"topK\": 1}" | jq -r .id) \
  || { echo "error: the API refused the question job" >&2; exit 1; }
status=""
for _ in $(seq 1 240); do
  status=$(curl -sf "${auth[@]}" "$api/jobs/$job")
  [[ $(jq -r .status <<<"$status") =~ ^(completed|failed|cancelled)$ ]] && break
  sleep 0.5
done
jq -r '"  job \(.id): \(.status), \(.done) of \(.total) images answered, \(.failed) failed, model \(.modelVersion)"' <<<"$status"
[ "$(jq -r .status <<<"$status")" = completed ] || { echo "error: the question job did not complete; see $logs_hint" >&2; exit 1; }
answers=$(curl -sf "${auth[@]}" "$api/jobs/$job/answers?format=jsonl" | jq -s 'map(select(.rank == 1))')
right=0 asked=0
printf '  %-32s %-31s %-11s %-6s %s\n' file question answer score "${scenes_file:+truth}"
while IFS=$'\t' read -r file question answer score; do
  expected=$(truth "$file" "$question")
  mark=""
  if [ "$expected" = "-" ]; then
    mark="(no red triangle here)"
  elif [ -n "$expected" ]; then
    asked=$((asked + 1))
    if [ "$expected" = "$answer" ]; then mark="$expected ✓"; right=$((right + 1)); else mark="$expected ✗"; fi
  fi
  printf '  %-32s %-31s %-11s %-6.3f %s\n' "$file" "$question" "$answer" "$score" "$mark"
done < <(jq -r 'sort_by(.fileName, .question) | .[] | [.fileName, .question, .answer, .score] | @tsv' <<<"$answers")
[ "$asked" -gt 0 ] && echo "  $right of $asked answers match the scenes"

echo
echo "Retrieval: images whose answer to \"Is there a red circle?\" is yes, best first:"
query="question=Is+there+a+red+circle%3F&answer=yes&minScore=0.5&collection=$collection&limit=10"
# Never asked of this collection: the first search starts a question job and answers 202 until its answers are indexed.
first_search=$(mktemp)
trap 'rm -f "$first_search"' EXIT
code=$(curl -s "${auth[@]}" -o "$first_search" -w '%{http_code}' "$search_api/search?$query")
if [ "$code" = 202 ]; then
  echo "  (a question job, $(jq -r .jobId "$first_search"), answers it first)"
  for _ in $(seq 1 240); do
    sleep 0.5
    code=$(curl -s "${auth[@]}" -o "$first_search" -w '%{http_code}' "$search_api/search?$query")
    [ "$code" = 202 ] || break
  done
fi
[ "$code" = 200 ] || { echo "  the search answered $code: $(cat "$first_search")" >&2; exit 1; }
result=$(cat "$first_search")
rank=0
while IFS=$'\t' read -r file score; do
  rank=$((rank + 1))
  expected=$(truth "$file" "Is there a red circle?")
  printf '  %2d. %-32s yes %.3f  %s\n' "$rank" "$file" "$score" "${expected:+(truth: $expected)}"
done < <(jq -r '.results[]? | [.fileName, .score] | @tsv' <<<"$result")
[ "$rank" -gt 0 ] || echo "  no image answered yes with a score of at least 0.5"

port_open() { timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
echo
echo "Look at:"
echo "  collection images    $api/collections/$collection/images"
echo "  the job's answers    $api/jobs/$job/answers?format=csv"
echo "  search API           $search_api/search?$query"
echo "  OpenAPI document     $api/openapi/v1.json  (every service's routes, merged by the gateway)"
echo "  health and metrics   $api/health/ready  $api/metrics  (each service on its own port: ingestion :5085, indexing :5081,"
echo "                       preprocessing :5082, inference :5083, training :5084)"
if port_open 15672; then echo "  RabbitMQ management  http://127.0.0.1:15672 (guest/guest)"; fi
if [ -n "${VQA_SEQ_URL:-}" ]; then echo "  Seq (logs)           $VQA_SEQ_URL"; fi
if [ "$stack" = docker ]; then
  echo "  service logs         docker compose logs ingestion preprocessing inference indexing training"
else
  echo "  service logs         ${VQA_STATE_DIR:-/tmp/vqapipeline-local}/logs/"
fi
echo "  your API key         export VQA_API_KEY=$VQA_API_KEY  (curl -H \"Authorization: Bearer \$VQA_API_KEY\" …; docs/api-keys.md)"
echo "  ask one image        ./vqa ask examples/images/$(ls examples/images | head -n 1) \"Is there a red circle?\""
echo
if [ "$stack" = docker ]; then
  echo "Stop everything:       docker compose down   (add -v to delete the volumes: images, database, models)"
else
  echo "Stop the services:     infra/local/down.sh --services-only"
  echo "Stop everything:       infra/local/down.sh"
fi
