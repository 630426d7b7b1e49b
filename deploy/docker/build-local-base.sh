#!/usr/bin/env bash
# Makes the base images the Dockerfile builds from on a machine that cannot pull from a registry:
#   onramp-local/debian:bookworm   Debian 12 minbase, from debootstrap
#   onramp-local/node:20           the same with this machine's Node (>= 20.18) and npm copied in,
#                                  and this machine's CA bundle trusted by Node and npm (where a
#                                  proxy re-signs TLS, npm ci inside the build needs it)
# Then:  docker build --build-arg BUILD_IMAGE=onramp-local/node:20 \
#                     --build-arg RUNTIME_IMAGE=onramp-local/node:20 -t onramp .
# Skips what already exists (same Node version). Needs root, docker, debootstrap, and apt's Debian mirror.
set -euo pipefail

DEBIAN_IMAGE=onramp-local/debian:bookworm
NODE_IMAGE=onramp-local/node:20
node_bin=$(readlink -f "$(command -v node)")
node_version=$(node --version)
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")

case "$node_version" in
  v20.*) ;;
  *) echo "build-local-base: node $node_version on this machine; the image needs Node 20 (>= 20.18)" >&2; exit 1 ;;
esac

if ! docker image inspect "$DEBIAN_IMAGE" >/dev/null 2>&1; then
  command -v debootstrap >/dev/null || { echo "build-local-base: debootstrap missing (apt-get install -y debootstrap)" >&2; exit 1; }
  mirror=$(sed -n 's/^URIs: *\(http[^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
  mirror=${mirror:-http://deb.debian.org/debian}
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
  echo "build-local-base: debootstrap bookworm from $mirror"
  debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1 || { tail -20 "$root.log" >&2; exit 1; }
  rm -f "$root.log"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | docker import -c 'CMD ["/bin/bash"]' - "$DEBIAN_IMAGE" >/dev/null
  rm -rf "$root"
  trap - EXIT
fi

if [ "$(docker image inspect -f '{{ index .Config.Labels "node.version" }}' "$NODE_IMAGE" 2>/dev/null)" != "$node_version+ca" ]; then
  ctx=$(mktemp -d)
  trap 'rm -rf "$ctx"' EXIT
  cp "$node_bin" "$ctx/node"
  cp -r "$npm_dir" "$ctx/npm"
  cp "${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}" "$ctx/host-ca-bundle.crt"
  cat >"$ctx/Dockerfile" <<DOCKERFILE
FROM $DEBIAN_IMAGE
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
COPY host-ca-bundle.crt /etc/ssl/host-ca-bundle.crt
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/host-ca-bundle.crt npm_config_cafile=/etc/ssl/host-ca-bundle.crt
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && node --version && npm --version
LABEL node.version=$node_version+ca
DOCKERFILE
  echo "build-local-base: $NODE_IMAGE with Node $node_version"
  docker build -q -t "$NODE_IMAGE" "$ctx" >/dev/null
  rm -rf "$ctx"
  trap - EXIT
fi
echo "build-local-base: $NODE_IMAGE ready"
