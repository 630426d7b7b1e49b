#!/usr/bin/env bash
# Drill 7: SIGKILL of the NATS node with the most clients (the edges on it reconnect to another).
# Goal: nothing fails; the bus is not on the request path.
source "$(dirname "$0")/lib/common.sh"
rc=0
busiest="" most=-1
for svc in nats-1 nats-2 nats-3; do
  n=$(docker exec "$(cid "$svc")" curl -fsS http://127.0.0.1:8222/varz | sed -n 's/^ *"connections": *\([0-9]*\).*/\1/p')
  [ "${n:-0}" -gt "$most" ] && { most=${n:-0}; busiest=$svc; }
done
victim=$(cid "$busiest")
drill run --name "7. kill NATS node $busiest (clients: $most)" --goal none-failed --duration 6000 --strike "docker kill $victim" || rc=$?
restore_mesh
exit $rc
