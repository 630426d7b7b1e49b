# Sourced: chooses the base images of the image build and the compose services, and exports
#   BUILD_IMAGE, RUNTIME_IMAGE  (the Dockerfile's; default node:20-bookworm, node:20-bookworm-slim)
#   DEBIAN_IMAGE                (etcd and NATS of the compose rehearsal; default debian:bookworm-slim)
# Given values are kept. When the defaults can be neither found nor pulled (a machine without
# access to a registry), local ones are made from Debian's packages and this machine's Node
# (build-local-base.sh) and used instead.
_have_image() { docker image inspect "$1" >/dev/null 2>&1 || docker pull -q "$1" >/dev/null 2>&1; }
export BUILD_IMAGE=${BUILD_IMAGE:-node:20-bookworm} RUNTIME_IMAGE=${RUNTIME_IMAGE:-node:20-bookworm-slim} DEBIAN_IMAGE=${DEBIAN_IMAGE:-debian:bookworm-slim}
if ! _have_image "$BUILD_IMAGE" || ! _have_image "$RUNTIME_IMAGE" || ! _have_image "$DEBIAN_IMAGE"; then
  echo "base-images: $BUILD_IMAGE, $RUNTIME_IMAGE or $DEBIAN_IMAGE cannot be pulled: making local ones" >&2
  "$(dirname "${BASH_SOURCE[0]}")/build-local-base.sh" >&2
  export BUILD_IMAGE=onramp-local/node:20 RUNTIME_IMAGE=onramp-local/node:20 DEBIAN_IMAGE=onramp-local/debian:bookworm
fi
