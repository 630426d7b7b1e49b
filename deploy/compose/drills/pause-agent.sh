#!/usr/bin/env bash
# Drill 3: the agent behind A hangs for 10 s (docker pause freezes every process in it).
# Goal: the hang is found within 2 s: at most 0.1% fail and no request waits more than 3 s.
source "$(dirname "$0")/lib/common.sh"
rc=0
agent=$(cid agent-a)
drill run --name "3. pause agent A for 10 s" --goal per-mille-3s --duration 15000 --strike "docker pause $agent" --restore-after 10000 --restore "docker unpause $agent" || rc=$?
restore_mesh
exit $rc
