#!/usr/bin/env bash
# npm run bench [-- --quick] [-- --only direct,nginx,pipenet,onramp,mesh] [-- --skip mesh]
# Checks the tools, installs the peers it compares against into bench/.peers (once), builds onramp
# if it has not been built, then runs bench/main.mjs. Results: bench/results/latest.{json,md}.
set -euo pipefail
cd "$(dirname "$0")/.."

# wrk (the load generator), nginx (a peer), etcd and nats-server (the mesh part) come from
# Debian; install them when we can.
missing=()
command -v wrk >/dev/null || missing+=(wrk)
{ [ -x /usr/sbin/nginx ] || command -v nginx >/dev/null; } || missing+=(nginx-light)
{ [ -x /usr/bin/etcd ] || command -v etcd >/dev/null; } || missing+=(etcd-server)
{ [ -x /usr/sbin/nats-server ] || command -v nats-server >/dev/null; } || missing+=(nats-server)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "bench: installing ${missing[*]}" >&2
    apt-get update -qq >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2
  else
    echo "bench: missing ${missing[*]}: install them (apt-get install ${missing[*]})" >&2
  fi
fi
command -v wrk >/dev/null || { echo "bench: wrk not found" >&2; exit 1; }
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null || echo "bench: nginx not found; its rows will be skipped" >&2
{ [ -x /usr/bin/etcd ] || command -v etcd >/dev/null; } && { [ -x /usr/sbin/nats-server ] || command -v nats-server >/dev/null; } ||
  echo "bench: etcd or nats-server not found; the mesh part will be reported as failed" >&2

# pipenet: every release declares node >= 22 but runs on Node 20 (checked by the bench itself:
# a target that fails to start is reported as such). Installed outside the workspace, without
# the repo's engine-strict, and pinned.
PIPENET_VERSION=1.4.3
PEERS=bench/.peers
if [ ! -f "$PEERS/node_modules/pipenet/package.json" ] ||
   ! grep -q "\"version\": \"$PIPENET_VERSION\"" "$PEERS/node_modules/pipenet/package.json"; then
  echo "bench: installing pipenet@$PIPENET_VERSION into $PEERS" >&2
  mkdir -p "$PEERS"
  [ -f "$PEERS/package.json" ] || echo '{ "private": true, "type": "module" }' > "$PEERS/package.json"
  npm install --prefix "$PEERS" --engine-strict=false --no-audit --no-fund --save-exact \
    "pipenet@$PIPENET_VERSION" >&2 || echo "bench: pipenet install failed; its rows will be skipped" >&2
fi

# onramp: build once if the CLI entry exists but was never compiled.
if [ -f cli/bin/onramp.js ] && { [ ! -d cli/dist ] || [ ! -f services/agent/dist/index.js ]; }; then
  echo "bench: building onramp (npm run build)" >&2
  npm run build >&2
fi

# 1,000 idle sessions hold ~2,000 sockets on each side.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

exec node bench/main.mjs "$@"
