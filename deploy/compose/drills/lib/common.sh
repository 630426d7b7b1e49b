# Sourced by every drill: the compose project, the drill runner, and putting the mesh back.
# The mesh must be up (run-all.sh brings it up; by hand: docker compose up -d in deploy/compose).
set -euo pipefail
DRILLS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
COMPOSE_DIR=$(dirname "$DRILLS_DIR")
PROJECT=${ONRAMP_COMPOSE_PROJECT:-onramp}
POOL_MEMBERS=agent-a,agent-b,agent-c
export DRILL_TARGET=${DRILL_TARGET:-http://127.0.0.1:${EDGE_A_HTTP_PORT:-8080}}
export DRILL_ADMIN=${DRILL_ADMIN:-127.0.0.1:${EDGE_A_ADMIN_PORT:-4042}}

command -v node >/dev/null || { echo "the drills need Node (>= 20) on the host: they send the load from it" >&2; exit 2; }

# compose ARGS…: docker compose v2 when there is one, else docker-compose v1.
compose() {
  if docker compose version >/dev/null 2>&1; then docker compose -p "$PROJECT" -f "$COMPOSE_DIR/compose.yaml" "$@"
  else docker-compose -p "$PROJECT" -f "$COMPOSE_DIR/compose.yaml" "$@"; fi
}
# cid SERVICE: its container id, running or not.
cid() { local id; id=$(compose ps -a -q "$1" 2>/dev/null || compose ps -q "$1"); [ -n "$id" ] || { echo "no container for $1 in project $PROJECT" >&2; return 1; }; echo "$id"; }
drill() { node "$DRILLS_DIR/lib/drill.mjs" "$@"; }
MESH_NETWORK="${PROJECT}_mesh"

# Everything back as compose defines it: unpaused, reconnected, started; then the full pool at A.
restore_mesh() {
  local svc id
  for svc in agent-a agent-b agent-c edge-a edge-b edge-c; do
    id=$(cid "$svc") || return 1
    [ "$(docker inspect -f '{{.State.Paused}}' "$id")" = true ] && docker unpause "$id" >/dev/null
  done
  for svc in edge-a edge-b edge-c; do
    id=$(cid "$svc") || return 1
    docker inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}' "$id" | grep -qw "$MESH_NETWORK" ||
      docker network connect --alias "$svc" "$MESH_NETWORK" "$id"
  done
  compose up -d --no-build >/dev/null 2>&1 || compose up -d --no-build
  drill wait-pool "$POOL_MEMBERS"
}

# without_member_at_a: the drills of edges and regions need A to relay (A prefers its own member).
without_member_at_a() {
  local agent
  agent=$(cid agent-a)
  docker stop -t 20 "$agent" >/dev/null
  drill wait-pool agent-b,agent-c
}
