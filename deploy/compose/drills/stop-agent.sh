#!/usr/bin/env bash
# Drill 2: docker stop of the agent behind A (SIGTERM through tini: it drains) under GETs and
# POSTs. Goal: no request of any method fails, and the agent exits 0.
source "$(dirname "$0")/lib/common.sh"
rc=0
agent=$(cid agent-a)
drill run --name "2. stop agent A (SIGTERM, GET + POST)" --goal none-failed --methods get-post --duration 6000 --strike "docker stop -t 20 $agent" || rc=$?
code=$(docker inspect -f '{{.State.ExitCode}}' "$agent")
[ "$code" = 0 ] || { echo "drill 2: the agent exited $code after SIGTERM, not 0"; rc=1; }
restore_mesh
exit $rc
