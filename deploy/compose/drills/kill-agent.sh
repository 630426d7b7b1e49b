#!/usr/bin/env bash
# Drill 1: SIGKILL of the agent behind A (the member A prefers) under GETs. Goal: nothing fails.
source "$(dirname "$0")/lib/common.sh"
rc=0
agent=$(cid agent-a)
drill run --name "1. kill agent A (docker kill)" --goal none-failed --duration 6000 --strike "docker kill $agent" || rc=$?
restore_mesh
exit $rc
