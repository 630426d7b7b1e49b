# etcd from Debian's packages (3.4), for the compose rehearsal. DEBIAN_IMAGE is a build argument so
# that machines that cannot pull build it from a local Debian image.
ARG DEBIAN_IMAGE=debian:bookworm-slim
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends etcd-server etcd-client \
 && rm -rf /var/lib/apt/lists/*
ENV ETCDCTL_API=3
ENTRYPOINT ["etcd"]
