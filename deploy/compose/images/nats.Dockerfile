# nats-server from Debian's packages, for the compose rehearsal (curl for the healthcheck).
ARG DEBIAN_IMAGE=debian:bookworm-slim
FROM ${DEBIAN_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nats-server curl ca-certificates \
 && rm -rf /var/lib/apt/lists/*
ENTRYPOINT ["nats-server"]
