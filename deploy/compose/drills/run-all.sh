#!/usr/bin/env bash
# The whole rehearsal on a machine with Docker: builds the images, brings the three-region mesh
# up, runs every drill under steady load from this host, prints the table, tears everything down
# (also on failure or Ctrl-C), and exits non-zero when a goal is missed.
#
#   deploy/compose/drills/run-all.sh
#
# Environment (all optional):
#   ONRAMP_IMAGE           use this Onramp image instead of building onramp:local from the repo
#   BUILD_IMAGE, RUNTIME_IMAGE, DEBIAN_IMAGE
#                          base images (default node:20-bookworm, node:20-bookworm-slim,
#                          debian:bookworm-slim); when they can be neither found nor pulled, local
#                          ones are made with deploy/docker/build-local-base.sh (debootstrap)
#   ONRAMP_COMPOSE_PROJECT compose project name (default onramp-drills)
#   KEEP_MESH=1            leave the mesh running afterwards
#   DRILL_RATE             requests/s of the load (default 200)
#   ONRAMP_HEALTHCHECK_INTERVAL
#                          how often Docker runs each container's health check (default here 60s:
#                          nothing waits on them, and each is a docker exec that costs the load CPU)
set -euo pipefail
export ONRAMP_HEALTHCHECK_INTERVAL=${ONRAMP_HEALTHCHECK_INTERVAL:-60s}
DRILLS_DIR=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$DRILLS_DIR/../../.." && pwd)
export ONRAMP_COMPOSE_PROJECT=${ONRAMP_COMPOSE_PROJECT:-onramp-drills}
started=$(date +%s)
say() { echo "run-all: $*"; }

docker info >/dev/null 2>&1 || { echo "run-all: no Docker engine answers (start dockerd)" >&2; exit 2; }
command -v node >/dev/null || { echo "run-all: the drills need Node (>= 20) on this host: they send the load from it" >&2; exit 2; }
if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null; then
  echo "run-all: neither 'docker compose' nor docker-compose is installed" >&2; exit 2
fi

source "$REPO/deploy/docker/base-images.sh"
if [ -z "${ONRAMP_IMAGE:-}" ]; then
  export ONRAMP_IMAGE=onramp:local
  say "building $ONRAMP_IMAGE from $REPO"
  docker build -q --build-arg BUILD_IMAGE --build-arg RUNTIME_IMAGE -t "$ONRAMP_IMAGE" "$REPO" >/dev/null
fi

# Free loopback ports for what compose publishes, unless given: six distinct ones, all held open
# together while they are chosen (ports asked for one at a time can come back twice), and below
# the kernel's ephemeral range, where no outgoing connection takes one before compose binds it.
port_vars=(EDGE_A_HTTP_PORT EDGE_A_ADMIN_PORT EDGE_B_HTTP_PORT EDGE_B_ADMIN_PORT EDGE_C_HTTP_PORT EDGE_C_ADMIN_PORT)
read -r -a free < <(node "$DRILLS_DIR/lib/free-ports.mjs" "${#port_vars[@]}")
for i in "${!port_vars[@]}"; do
  v=${port_vars[$i]}
  [ -n "${!v:-}" ] || export "$v=${free[$i]}"
done
export DRILL_RESULTS=${DRILL_RESULTS:-$(mktemp)}
: >"$DRILL_RESULTS"

source "$DRILLS_DIR/lib/common.sh"
teardown() {
  local rc=$?
  if [ "${KEEP_MESH:-}" = 1 ]; then say "KEEP_MESH=1: the mesh stays up (project $PROJECT)"; return; fi
  say "tearing the mesh down"
  compose down -v --remove-orphans -t 20 >/dev/null 2>&1 || true
  return $rc
}
trap teardown EXIT
trap 'exit 130' INT TERM

say "bringing the mesh up (project $PROJECT, edge A on 127.0.0.1:$EDGE_A_HTTP_PORT)"
compose build -q >/dev/null
compose up -d >/dev/null
drill wait-pool "$POOL_MEMBERS" --timeout 120000

# What the edges and agents logged above info level since `since` (a drill that missed: why).
show_warnings() {
  local since=$1 svc id
  for svc in edge-a edge-b edge-c agent-a agent-b agent-c; do
    id=$(cid "$svc" 2>/dev/null) || continue
    docker logs --since "$since" "$id" 2>&1 | grep -E '"level":(40|50|60)[,}]|level=(warn|error|fatal)' | tail -n 12 | sed "s/^/  $svc: /" || true
  done
}

missed=()
for d in steady-state kill-agent stop-agent pause-agent kill-edge cut-region kill-etcd kill-nats; do
  since=$(date +%s)
  "$DRILLS_DIR/$d.sh" || { missed+=("$d"); say "$d missed its goal; warnings and errors logged meanwhile:"; show_warnings "$since"; }
done

echo
drill table || true
say "${#missed[@]} drill(s) missed their goal${missed:+: ${missed[*]}}; $(( $(date +%s) - started )) s in all"
[ "${#missed[@]}" = 0 ]
