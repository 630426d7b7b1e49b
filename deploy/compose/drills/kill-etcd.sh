#!/usr/bin/env bash
# Drill 6: SIGKILL of the etcd leader (the cluster keeps its quorum of 2 of 3). Goal: nothing
# fails; the registry is not on the request path.
source "$(dirname "$0")/lib/common.sh"
rc=0
leader=""
for svc in etcd-1 etcd-2 etcd-3; do
  status=$(docker exec "$(cid "$svc")" etcdctl --endpoints=http://127.0.0.1:2379 endpoint status -w fields 2>/dev/null || true)
  member=$(sed -n 's/^"MemberID" : //p' <<<"$status")
  [ -n "$member" ] && [ "$member" = "$(sed -n 's/^"Leader" : //p' <<<"$status")" ] && leader=$svc
done
[ -n "$leader" ] || { echo "drill 6: no etcd member says it is the leader" >&2; exit 1; }
victim=$(cid "$leader")
drill run --name "6. kill the etcd leader ($leader)" --goal none-failed --duration 6000 --strike "docker kill $victim" || rc=$?
restore_mesh
for i in $(seq 60); do docker exec "$victim" etcdctl --endpoints=http://127.0.0.1:2379 endpoint health >/dev/null 2>&1 && break; sleep 0.5; done
exit $rc
