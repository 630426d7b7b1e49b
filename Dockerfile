# Onramp: one image for edges and agents. `onramp` is the entrypoint, behind tini so SIGTERM
# reaches it (and drains) and orphaned children are reaped.
#
#   docker build -t onramp .
#   docker run --rm -p 8080:8080 -p 4443:4443 onramp edge --authtoken secret
#
# The base images are build arguments: the usual Node 20 images by default; CI, which cannot
# pull, passes images it made itself (deploy/docker/build-local-base.sh).
ARG BUILD_IMAGE=node:20-bookworm
ARG RUNTIME_IMAGE=node:20-bookworm-slim

FROM ${BUILD_IMAGE} AS build
WORKDIR /opt/onramp
# Manifests first, so that the dependency layer is reused while only sources change.
COPY package.json package-lock.json .npmrc ./
COPY libs/errors/package.json libs/errors/
COPY libs/proto/package.json libs/proto/
COPY libs/mux/package.json libs/mux/
COPY libs/balancer/package.json libs/balancer/
COPY libs/telemetry/package.json libs/telemetry/
COPY libs/policy/package.json libs/policy/
COPY libs/registry/package.json libs/registry/
COPY libs/mesh/package.json libs/mesh/
COPY services/edge/package.json services/edge/
COPY services/agent/package.json services/agent/
COPY services/registry/package.json services/registry/
COPY cli/package.json cli/
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.base.json tsconfig.json buf.yaml buf.gen.yaml ./
COPY proto proto
COPY libs libs
COPY services services
COPY cli cli
COPY deploy/systemd deploy/systemd
COPY deploy/docker/healthcheck.mjs deploy/docker/
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && find libs services cli -depth \( -name src -o -name '*.test.*' -o -name '*.map' -o -name '*.tsbuildinfo' -o -name 'tsconfig*.json' \) -exec rm -rf {} + \
 && rm -rf proto buf.yaml buf.gen.yaml tsconfig.base.json tsconfig.json /root/.npm

FROM ${RUNTIME_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tini ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 onramp \
 && useradd --system --uid 10001 --gid onramp --home-dir /opt/onramp --shell /usr/sbin/nologin onramp
COPY --from=build /opt/onramp /opt/onramp
RUN ln -s /opt/onramp/cli/bin/onramp.js /usr/local/bin/onramp
ENV NODE_ENV=production
USER onramp
WORKDIR /opt/onramp
# 8080 public HTTP, 8443 public HTTPS (with --https-addr), 4443 agents and relay, 4042 admin.
EXPOSE 8080 8443 4443 4042
# An edge's admin /healthz by default; agents set ONRAMP_HEALTHCHECK_URL (see the healthcheck).
# 10 s to answer: on a loaded 2-core VM one look (a docker exec starting node) took 2-3.5 s.
HEALTHCHECK --interval=5s --timeout=10s --start-period=10s --retries=3 CMD ["node", "/opt/onramp/deploy/docker/healthcheck.mjs"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/opt/onramp/cli/bin/onramp.js"]
CMD ["--help"]
