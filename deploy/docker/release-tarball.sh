#!/usr/bin/env bash
# Writes a release tarball, the .tar.gz of /opt/onramp's contents that the Terraform bootstrap
# installs on a VM (ONRAMP_RELEASE_URL), from a built image: the same files the container runs.
#   deploy/docker/release-tarball.sh [IMAGE] [OUT]     (default onramp:local, ./onramp-release.tar.gz)
set -euo pipefail
image=${1:-onramp:local}
out=${2:-onramp-release.tar.gz}
work=$(mktemp -d)
id=""
cleanup() { [ -n "$id" ] && docker rm -f "$id" >/dev/null 2>&1; rm -rf "$work"; }
trap cleanup EXIT
id=$(docker create "$image")
docker cp "$id:/opt/onramp" - | tar -x -C "$work"
[ -f "$work/onramp/cli/bin/onramp.js" ] || { echo "release-tarball: $image has no /opt/onramp/cli/bin/onramp.js" >&2; exit 1; }
tar -C "$work/onramp" --owner=0 --group=0 -czf "$out" .
echo "release-tarball: $out ($(du -h "$out" | cut -f1)) from $image, sha256 $(sha256sum "$out" | cut -d' ' -f1)"
