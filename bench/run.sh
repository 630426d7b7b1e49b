#!/usr/bin/env bash
# npm run bench [-- --quick] [-- --only direct,nginx,pipenet,onramp]
# Checks the tools, installs the peers it compares against into bench/.peers (once), builds onramp
# if it has not been built, then runs bench/main.mjs. Results: bench/results/latest.{json,md}.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in node wrk; do
  command -v "$tool" >/dev/null || { echo "bench: $tool not found (apt-get install $tool)" >&2; exit 1; }
done
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null || echo "bench: nginx not found; its rows will be skipped" >&2

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
