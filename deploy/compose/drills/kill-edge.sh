#!/usr/bin/env bash
# Drill 4: SIGKILL of edge C while A, with no member of its own, relays to the members behind B
# and C. Goal: nothing fails (A retries on B what C dropped).
source "$(dirname "$0")/lib/common.sh"
rc=0
edge=$(cid edge-c)
without_member_at_a
drill run --name "4. kill edge C (A relays to B, C)" --goal none-failed --duration 7000 --strike "docker kill $edge" || rc=$?
restore_mesh
exit $rc
