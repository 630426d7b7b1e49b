#!/usr/bin/env bash
# The test command from the README: installs what the tests need, builds, checks generated code,
# then runs unit and end-to-end tests (real onramp processes on loopback).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests need, installed when missing (the package index is updated only when
# a first try fails).
apt_need() {
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq "$@" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "$@"; }
}
# Real etcd and NATS for the registry, bus and mesh tests (Debian's etcd-server 3.4, nats-server 2.9).
if ! command -v etcd >/dev/null || ! { command -v nats-server >/dev/null || [ -x /usr/sbin/nats-server ]; }; then
  apt_need etcd-server nats-server
fi
# Chromium for the inspector page's browser test (e2e/inspector.test.ts, driven by playwright-core).
[ -x /usr/bin/chromium ] || apt_need chromium
# A real terminal for the status screen test (e2e/status-screen.test.ts).
command -v tmux >/dev/null || apt_need tmux

# Dependencies exactly as locked, installed only when the lockfile changed since the last install:
# `npm ci` deletes node_modules first, which would pull it from under an onramp running from this
# checkout. `prepare` builds (buf generate + tsc -b); without an install, build explicitly.
stamp=node_modules/.onramp-lockfile-sha256
lock_sum=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -d node_modules ] && [ "$(cat "$stamp" 2>/dev/null)" = "$lock_sum" ]; then
  echo "test: dependencies match package-lock.json; not reinstalling" >&2
  npm run build --silent
else
  npm ci --no-audit --no-fund
  echo "$lock_sum" > "$stamp"
fi

# Generated code is committed: regenerating must not change it.
if ! git diff --quiet -- libs/proto/src/gen 2>/dev/null; then
  echo "error: libs/proto/src/gen is out of date with proto/; run 'npm run generate' and commit" >&2
  git --no-pager diff --stat -- libs/proto/src/gen >&2
  exit 1
fi

# Layering (libs ← services ← CLI) and no import cycles.
node scripts/check-architecture.mjs
npx tsc -p e2e --noEmit

mkdir -p .test-results
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=.test-results/vitest.json || status=$?

# One plain summary line, whatever the runner printed above.
node -e '
  const r = require("./.test-results/vitest.json");
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));
' || true
exit "$status"
