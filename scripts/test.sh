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
# Pebble, Let's Encrypt's RFC 8555 test server, for the ACME tests (services/edge, e2e).
command -v pebble >/dev/null || apt_need pebble

# Docker for the image, the compose rehearsal and the bootstrap test (deploy/): Debian's engine,
# started here when none answers and stopped at the end; compose v1 when there is no v2; debootstrap
# for base images where nothing can be pulled. ONRAMP_SKIP_DOCKER=1 skips all of it (local iteration
# only: CI runs it).
docker_pid=""
stop_docker() {
  docker ps -aq --filter label=org.testcontainers=true 2>/dev/null | xargs -r docker rm -f >/dev/null 2>&1 || true
  [ -n "$docker_pid" ] && kill "$docker_pid" 2>/dev/null && wait "$docker_pid" 2>/dev/null || true
}
if [ "${ONRAMP_SKIP_DOCKER:-}" != 1 ]; then
  command -v dockerd >/dev/null || apt_need docker.io
  command -v debootstrap >/dev/null || apt_need debootstrap
  docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null || apt_need docker-compose
  if ! docker info >/dev/null 2>&1; then
    mkdir -p .test-results
    dockerd --log-level warn >.test-results/dockerd.log 2>&1 &
    docker_pid=$!
    trap stop_docker EXIT
    for _ in $(seq 120); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
    docker info >/dev/null 2>&1 || { echo "error: dockerd did not start: $(tail -3 .test-results/dockerd.log)" >&2; exit 1; }
  fi
fi

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
# Terraform: formatted, documented, module calls consistent, cloud-init renders (no providers needed).
bash scripts/check-terraform.sh

# The image, built from base images made locally when none can be pulled; e2e/deploy runs it.
if [ "${ONRAMP_SKIP_DOCKER:-}" != 1 ]; then
  source deploy/docker/base-images.sh
  echo "test: building the image onramp:test from $BUILD_IMAGE / $RUNTIME_IMAGE" >&2
  docker build -q --build-arg BUILD_IMAGE --build-arg RUNTIME_IMAGE -t onramp:test . >/dev/null
  export ONRAMP_TEST_IMAGE=onramp:test ONRAMP_TEST_BASE_IMAGE=$RUNTIME_IMAGE
fi

mkdir -p .test-results
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=.test-results/vitest.json || status=$?

# The compose rehearsal: the three-region mesh in containers and every drill under load.
drills="not run (ONRAMP_SKIP_DOCKER=1)"
if [ "${ONRAMP_SKIP_DOCKER:-}" != 1 ]; then
  if ONRAMP_IMAGE=onramp:test deploy/compose/drills/run-all.sh 2>&1 | tee .test-results/compose-drills.log; then drills="all goals met"
  else drills="FAILED (.test-results/compose-drills.log)"; status=1; fi
fi

# One plain summary line, whatever the runners printed above.
node -e '
  const r = require("./.test-results/vitest.json");
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : "") + `; compose drills: ${process.argv[1]}`);
' "$drills" || true
exit "$status"
