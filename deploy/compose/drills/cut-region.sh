#!/usr/bin/env bash
# Drill 5: region C is cut off the mesh network for 10 s (docker network disconnect of edge C:
# no relay, no etcd, no NATS), while A relays to B and C. Goal: as for a hang, at most 0.1% fail
# and none waits more than 3 s; after the cut heals, C's member comes back into A's pool.
source "$(dirname "$0")/lib/common.sh"
rc=0
without_member_at_a
edge=$(cid edge-c)
drill run --name "5. cut region C off the mesh for 10 s" --goal per-mille-3s --duration 16000 \
  --strike "docker network disconnect $MESH_NETWORK $edge" --restore-after 10000 --restore "docker network connect --alias edge-c $MESH_NETWORK $edge" || rc=$?
restore_mesh
exit $rc
