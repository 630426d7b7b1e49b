#!/usr/bin/env bash
# onramp-bootstrap.sh: turns a fresh Debian 12 machine into an Onramp edge of a mesh.
# Idempotent: run it again to pick up a new release, new secrets or new settings.
#
# Usage: onramp-bootstrap.sh [BOOTSTRAP_ENV_FILE]   (default /etc/onramp/bootstrap.env)
# Runs as root. Settings come from the environment first, then from the file (KEY=value lines,
# optionally quoted; no shell code is evaluated). Cloud-init writes the file from Terraform.
#
# Inputs
#   ONRAMP_SECRETS_PROVIDER   required: aws | gcp | azure | env. Where the cluster secret, the
#                             authtokens and the optional TLS pair come from, and which metadata
#                             service gives the private IP, instance name and region.
#                               aws   Secrets Manager GetSecretValue, SigV4-signed by a few lines
#                                     of Node (no aws CLI) with the instance profile's IMDSv2 credentials
#                               gcp   Secret Manager REST API with the metadata server's access token
#                               azure Key Vault REST API with a managed-identity token from IMDS
#                               env   ONRAMP_CLUSTER_SECRET / ONRAMP_AUTHTOKEN given directly
#                                     (tests, containers, on-prem); no metadata service is called
#   ONRAMP_RELEASE_URL        required: release tarball (.tar.gz of /opt/onramp's contents);
#                             anything curl reads: https://, file:///tmp/onramp.tar.gz
#   ONRAMP_RELEASE_SHA256     optional: expected sha256 of the tarball
#   ONRAMP_NODE_VERSION       Node installed when node is missing or older than 20.18.1
#                             (default 20.20.2), from nodejs.org's linux tarball
#   ONRAMP_NODE_SHA256        sha256 of node-v$VERSION-linux-<arch>.tar.gz. Pin it. When empty the
#                             tarball is checked against the SHASUMS256.txt next to it (same origin:
#                             catches corruption, not a compromised origin) and a warning is printed
#   ONRAMP_ETCD, ONRAMP_NATS  required: comma-separated etcd URLs / nats:// URLs of the mesh
#   ONRAMP_REGION             region name (default: the cloud's region, else "local")
#   ONRAMP_EDGE_ID            default: <region>-<instance name from metadata, else hostname>
#   ONRAMP_ADVERTISE_ADDR     default: <private IP from metadata (env: first of hostname -I)>:<agent port>
#   Secret names (aws: name or ARN; gcp: secret id; azure: Key Vault secret name):
#   ONRAMP_SECRET_CLUSTER     cluster secret             (not used with env: ONRAMP_CLUSTER_SECRET)
#   ONRAMP_SECRET_AUTHTOKENS  comma-separated authtokens (not used with env: ONRAMP_AUTHTOKEN)
#   ONRAMP_SECRET_TLS_CERT, ONRAMP_SECRET_TLS_KEY  optional PEM pair; written to /etc/onramp/tls/
#                             and served on ONRAMP_HTTPS_ADDR (default 0.0.0.0:8443)
#   ONRAMP_AWS_REGION         aws: Secrets Manager region (default: the instance's region)
#   ONRAMP_GCP_PROJECT        gcp: project of the secrets (default: the instance's project)
#   ONRAMP_AZURE_VAULT        azure: Key Vault name (required with azure)
#   ONRAMP_AZURE_CLIENT_ID    azure: client id of the user-assigned identity (empty: system-assigned)
#   Passed to the edge unchanged when set (see `onramp edge --help`): ONRAMP_HTTP_ADDR,
#   ONRAMP_HTTPS_ADDR, ONRAMP_TLS_CERT, ONRAMP_TLS_KEY, ONRAMP_GRPC_ADDR, ONRAMP_ADMIN_ADDR,
#   ONRAMP_DOMAIN, ONRAMP_DRAIN_TIMEOUT, ONRAMP_LOG_LEVEL, ONRAMP_LOG_FORMAT, ONRAMP_HSTS,
#   ONRAMP_REDIRECT_HTTP_TO_HTTPS, ONRAMP_MAX_REQUEST_BODY, ONRAMP_DATA_CONNECTIONS,
#   ONRAMP_MESH_HEARTBEAT, ONRAMP_MESH_DEAD_AFTER
#
# Outputs
#   /usr/local/bin/node        (only when Node was missing or too old)
#   /opt/onramp                the release; /opt/onramp/.release-sha256 names the tarball unpacked
#   user and group `onramp`    system account the edge runs as
#   /etc/onramp/edge.env       0600 root:root, KEY='value' lines (systemd EnvironmentFile and
#                              `set -a; . /etc/onramp/edge.env` both read it)
#   /etc/onramp/tls/*.pem      0640 root:onramp, when a TLS pair is configured
#   /etc/systemd/system/onramp-edge.service, enabled and (re)started when systemd is PID 1;
#                              otherwise the command that starts the edge is printed
# Exit status: 0 when the edge is configured (and started under systemd), non-zero with a
# "bootstrap: error:" line otherwise.
set -euo pipefail
umask 022

PREFIX=/opt/onramp
CONF_DIR=/etc/onramp
MIN_NODE=20.18.1
EDGE_VARS="ONRAMP_HTTP_ADDR ONRAMP_HTTPS_ADDR ONRAMP_TLS_CERT ONRAMP_TLS_KEY ONRAMP_GRPC_ADDR
  ONRAMP_ADMIN_ADDR ONRAMP_DOMAIN ONRAMP_DRAIN_TIMEOUT ONRAMP_LOG_LEVEL ONRAMP_LOG_FORMAT ONRAMP_HSTS
  ONRAMP_REDIRECT_HTTP_TO_HTTPS ONRAMP_MAX_REQUEST_BODY ONRAMP_DATA_CONNECTIONS
  ONRAMP_MESH_HEARTBEAT ONRAMP_MESH_DEAD_AFTER"

log() { echo "bootstrap: $*" >&2; }
die() { echo "bootstrap: error: $*" >&2; exit 1; }
# retry TRIES DELAY CMD...: IAM/RBAC grants and metadata can take a minute to appear on a new VM.
retry() {
  local tries=$1 delay=$2 i; shift 2
  for ((i = 1; ; i++)); do
    "$@" && return 0
    ((i >= tries)) && return 1
    log "retrying ($i/$tries) in ${delay}s: $1"
    sleep "$delay"
  done
}

# --- settings -------------------------------------------------------------------------------
load_env_file() {
  local file=$1 line key val
  [ -f "$file" ] || { log "no $file; using the environment only"; return 0; }
  while IFS= read -r line || [ -n "$line" ]; do
    [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
    [[ $line =~ ^[[:space:]]*([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] || die "$file: not KEY=value: $line"
    key=${BASH_REMATCH[1]} val=${BASH_REMATCH[2]}
    if [[ $val =~ ^\'(.*)\'$ || $val =~ ^\"(.*)\"$ ]]; then val=${BASH_REMATCH[1]}; fi
    [ -n "${!key+x}" ] || export "$key=$val"
  done <"$file"
}

[ "$(id -u)" = 0 ] || die "run as root"
load_env_file "${1:-$CONF_DIR/bootstrap.env}"
PROVIDER=${ONRAMP_SECRETS_PROVIDER:-}
case "$PROVIDER" in aws | gcp | azure | env) ;; *) die "ONRAMP_SECRETS_PROVIDER must be aws, gcp, azure or env (got '$PROVIDER')" ;; esac
: "${ONRAMP_RELEASE_URL:?bootstrap: error: ONRAMP_RELEASE_URL is required}"
: "${ONRAMP_ETCD:?bootstrap: error: ONRAMP_ETCD is required (comma-separated etcd URLs)}"
: "${ONRAMP_NATS:?bootstrap: error: ONRAMP_NATS is required (comma-separated nats:// URLs)}"
NODE_VERSION=${ONRAMP_NODE_VERSION:-20.20.2}

# --- packages --------------------------------------------------------------------------------
ensure_packages() {
  local missing=()
  command -v curl >/dev/null || missing+=(curl)
  [ -f /etc/ssl/certs/ca-certificates.crt ] || missing+=(ca-certificates)
  command -v tar >/dev/null || missing+=(tar)
  command -v gzip >/dev/null || missing+=(gzip)
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  retry 5 10 apt-get update -qq
  retry 3 10 apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }

ensure_node() {
  local have=""
  have=$(node -v 2>/dev/null | sed 's/^v//') || have=""
  if [ -n "$have" ] && version_ge "$have" "$MIN_NODE"; then
    log "node $have found (>= $MIN_NODE); not installing"
    return 0
  fi
  local arch
  case "$(uname -m)" in x86_64) arch=x64 ;; aarch64) arch=arm64 ;; *) die "no Node tarball for $(uname -m)" ;; esac
  local name="node-v$NODE_VERSION-linux-$arch" tmp
  local base="https://nodejs.org/dist/v$NODE_VERSION"
  tmp=$(mktemp -d)
  log "installing Node $NODE_VERSION (found: ${have:-none})"
  retry 5 5 curl -fsSL -o "$tmp/$name.tar.gz" "$base/$name.tar.gz"
  local want=${ONRAMP_NODE_SHA256:-}
  if [ -z "$want" ]; then
    log "WARNING: ONRAMP_NODE_SHA256 is not set; checking against $base/SHASUMS256.txt (same origin)"
    retry 5 5 curl -fsSL -o "$tmp/SHASUMS256.txt" "$base/SHASUMS256.txt"
    want=$(awk -v f="$name.tar.gz" '$2 == f { print $1 }' "$tmp/SHASUMS256.txt")
    [ -n "$want" ] || die "$name.tar.gz is not in SHASUMS256.txt"
  fi
  echo "$want  $tmp/$name.tar.gz" | sha256sum -c --quiet - || die "sha256 mismatch for $name.tar.gz"
  mkdir -p /usr/local/lib/nodejs
  rm -rf "/usr/local/lib/nodejs/$name"
  tar -xzf "$tmp/$name.tar.gz" -C /usr/local/lib/nodejs
  ln -sfn "/usr/local/lib/nodejs/$name/bin/node" /usr/local/bin/node
  rm -rf "$tmp"
  hash -r
  node -v >/dev/null || die "node does not run after installing $name"
}

# --- release ---------------------------------------------------------------------------------
install_release() {
  local tmp sum
  tmp=$(mktemp -d)
  log "fetching release $ONRAMP_RELEASE_URL"
  retry 5 5 curl -fsSL -o "$tmp/onramp.tar.gz" "$ONRAMP_RELEASE_URL"
  sum=$(sha256sum "$tmp/onramp.tar.gz" | cut -d' ' -f1)
  if [ -n "${ONRAMP_RELEASE_SHA256:-}" ] && [ "$sum" != "$ONRAMP_RELEASE_SHA256" ]; then
    die "release sha256 is $sum, expected $ONRAMP_RELEASE_SHA256"
  fi
  if [ "$(cat "$PREFIX/.release-sha256" 2>/dev/null)" = "$sum" ]; then
    log "release $sum already in $PREFIX"
  else
    mkdir -p "$tmp/root"
    tar -xzf "$tmp/onramp.tar.gz" -C "$tmp/root" --no-same-owner
    [ -f "$tmp/root/cli/bin/onramp.js" ] || die "release has no cli/bin/onramp.js at its top level"
    echo "$sum" >"$tmp/root/.release-sha256"
    chmod -R u=rwX,go=rX "$tmp/root"
    rm -rf "$PREFIX.new" "$PREFIX.old"
    mv "$tmp/root" "$PREFIX.new"
    [ -e "$PREFIX" ] && mv "$PREFIX" "$PREFIX.old"
    mv "$PREFIX.new" "$PREFIX"
    rm -rf "$PREFIX.old"
    log "release $sum installed in $PREFIX"
  fi
  rm -rf "$tmp"
}

ensure_user() {
  id -u onramp >/dev/null 2>&1 && return 0
  useradd --system --user-group --home-dir /var/lib/onramp --create-home --shell /usr/sbin/nologin onramp
  log "created system user onramp"
}

# --- metadata and secrets ------------------------------------------------------------------
# json_get PATH: prints the field (a.b.c) of the JSON on stdin; fails when it is missing.
json_get() {
  node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>{let v=JSON.parse(s);
    for(const k of process.argv[1].split("."))v=v==null?v:v[k];
    if(v==null||typeof v==="object")process.exit(3);process.stdout.write(String(v));});' "$1"
}

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
chmod 700 "$WORK"

gcp_md() { curl -fsS -H 'Metadata-Flavor: Google' "http://metadata.google.internal/computeMetadata/v1/$1"; }
azure_md() { curl -fsS -H 'Metadata: true' "http://169.254.169.254/metadata/$1"; }
aws_md() {
  local token
  token=$(curl -fsS -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' http://169.254.169.254/latest/api/token)
  curl -fsS -H "X-aws-ec2-metadata-token: $token" "http://169.254.169.254/latest/meta-data/$1"
}

# AWS Secrets Manager GetSecretValue with Signature V4, credentials from IMDSv2 (instance profile).
aws_secret() {
  ONRAMP_SM_REGION=${ONRAMP_AWS_REGION:-$(aws_md placement/region)} ONRAMP_SM_ID=$1 node --input-type=module -e '
    import { createHash, createHmac } from "node:crypto";
    const imds = "http://169.254.169.254/latest";
    const token = await (await fetch(`${imds}/api/token`, { method: "PUT", headers: { "X-aws-ec2-metadata-token-ttl-seconds": "300" } })).text();
    const md = async (p) => { const r = await fetch(`${imds}/meta-data/${p}`, { headers: { "X-aws-ec2-metadata-token": token } }); if (!r.ok) throw new Error(`IMDS ${p}: ${r.status}`); return r.text(); };
    const role = (await md("iam/security-credentials/")).split("\n")[0];
    const c = JSON.parse(await md(`iam/security-credentials/${role}`));
    const region = process.env.ONRAMP_SM_REGION, host = `secretsmanager.${region}.amazonaws.com`;
    const body = JSON.stringify({ SecretId: process.env.ONRAMP_SM_ID });
    const amzDate = new Date().toISOString().replace(/[-:]|\.\d{3}/g, ""), day = amzDate.slice(0, 8);
    const sha = (d) => createHash("sha256").update(d).digest("hex"), mac = (k, d) => createHmac("sha256", k).update(d).digest();
    const h = { "content-type": "application/x-amz-json-1.1", host, "x-amz-date": amzDate, "x-amz-security-token": c.Token, "x-amz-target": "secretsmanager.GetSecretValue" };
    const names = Object.keys(h).sort(), signed = names.join(";");
    const canonical = ["POST", "/", "", names.map((n) => `${n}:${h[n]}\n`).join(""), signed, sha(body)].join("\n");
    const scope = `${day}/${region}/secretsmanager/aws4_request`;
    const key = ["secretsmanager", "aws4_request"].reduce(mac, mac(mac(`AWS4${c.SecretAccessKey}`, day), region));
    const sig = createHmac("sha256", key).update(["AWS4-HMAC-SHA256", amzDate, scope, sha(canonical)].join("\n")).digest("hex");
    h.authorization = `AWS4-HMAC-SHA256 Credential=${c.AccessKeyId}/${scope}, SignedHeaders=${signed}, Signature=${sig}`;
    delete h.host;
    const r = await fetch(`https://${host}/`, { method: "POST", headers: h, body });
    const j = await r.json().catch(() => ({}));
    if (!r.ok || typeof j.SecretString !== "string") { console.error(`GetSecretValue ${process.env.ONRAMP_SM_ID}: ${r.status} ${j.__type ?? ""} ${j.message ?? j.Message ?? ""}`); process.exit(1); }
    process.stdout.write(j.SecretString);'
}

gcp_secret() {
  local project=${ONRAMP_GCP_PROJECT:-} token
  [ -n "$project" ] || project=$(gcp_md project/project-id) || return 1
  token=$(gcp_md instance/service-accounts/default/token | json_get access_token) || return 1
  printf 'Authorization: Bearer %s\n' "$token" >"$WORK/auth"
  curl -fsS -H @"$WORK/auth" \
    "https://secretmanager.googleapis.com/v1/projects/$project/secrets/$1/versions/latest:access" |
    json_get payload.data | base64 -d
}

azure_secret() {
  local vault=${ONRAMP_AZURE_VAULT:?bootstrap: error: ONRAMP_AZURE_VAULT is required with azure}
  local q="api-version=2018-02-01&resource=https%3A%2F%2Fvault.azure.net" token
  [ -n "${ONRAMP_AZURE_CLIENT_ID:-}" ] && q="$q&client_id=$ONRAMP_AZURE_CLIENT_ID"
  token=$(azure_md "identity/oauth2/token?$q" | json_get access_token) || return 1
  printf 'Authorization: Bearer %s\n' "$token" >"$WORK/auth"
  curl -fsS -H @"$WORK/auth" "https://$vault.vault.azure.net/secrets/$1?api-version=7.4" | json_get value
}

# secret NAME OUTFILE: the secret's value into OUTFILE, retried while grants propagate.
secret_to() { "${PROVIDER}_secret" "$1" >"$2"; }
secret() { retry 30 10 secret_to "$1" "$2" || die "cannot read secret $1 from $PROVIDER"; }

# Instance facts: private IP, instance name, region.
instance_facts() {
  case "$PROVIDER" in
    aws)
      PRIVATE_IP=$(retry 10 3 aws_md local-ipv4)
      NAME=$(retry 10 3 aws_md instance-id)
      CLOUD_REGION=$(retry 10 3 aws_md placement/region)
      ;;
    gcp)
      PRIVATE_IP=$(retry 10 3 gcp_md instance/network-interfaces/0/ip)
      NAME=$(retry 10 3 gcp_md instance/name)
      CLOUD_REGION=$(retry 10 3 gcp_md instance/zone | sed 's#.*/##; s/-[a-z]$//')
      ;;
    azure)
      local v="api-version=2021-02-01&format=text"
      PRIVATE_IP=$(retry 10 3 azure_md "instance/network/interface/0/ipv4/ipAddress/0/privateIpAddress?$v")
      NAME=$(retry 10 3 azure_md "instance/compute/name?$v")
      CLOUD_REGION=$(retry 10 3 azure_md "instance/compute/location?$v")
      ;;
    env)
      PRIVATE_IP=$(hostname -I 2>/dev/null | awk '{print $1}') || PRIVATE_IP=""
      NAME=$(hostname)
      CLOUD_REGION=local
      ;;
  esac
}

# --- edge.env --------------------------------------------------------------------------------
# Values are single-quoted: systemd's EnvironmentFile and a POSIX shell read them the same way.
put() {
  case "$2" in *"'"* | *$'\n'*) die "$1 contains a quote or a newline; not writable to edge.env" ;; esac
  printf "%s='%s'\n" "$1" "$2" >>"$WORK/edge.env"
}

write_edge_env() {
  local cluster authtokens tls_cert=${ONRAMP_TLS_CERT:-} tls_key=${ONRAMP_TLS_KEY:-}
  if [ "$PROVIDER" = env ]; then
    cluster=${ONRAMP_CLUSTER_SECRET:?bootstrap: error: ONRAMP_CLUSTER_SECRET is required with env}
    authtokens=${ONRAMP_AUTHTOKEN:?bootstrap: error: ONRAMP_AUTHTOKEN is required with env}
  else
    secret "${ONRAMP_SECRET_CLUSTER:?bootstrap: error: ONRAMP_SECRET_CLUSTER is required}" "$WORK/cluster"
    secret "${ONRAMP_SECRET_AUTHTOKENS:?bootstrap: error: ONRAMP_SECRET_AUTHTOKENS is required}" "$WORK/authtokens"
    cluster=$(cat "$WORK/cluster") authtokens=$(tr -d '\n' <"$WORK/authtokens")
    if [ -n "${ONRAMP_SECRET_TLS_CERT:-}" ]; then
      install -d -m 0750 -o root -g onramp "$CONF_DIR/tls"
      secret "$ONRAMP_SECRET_TLS_CERT" "$WORK/cert.pem"
      secret "${ONRAMP_SECRET_TLS_KEY:?bootstrap: error: ONRAMP_SECRET_TLS_KEY goes with ONRAMP_SECRET_TLS_CERT}" "$WORK/key.pem"
      install -m 0640 -o root -g onramp "$WORK/cert.pem" "$CONF_DIR/tls/cert.pem"
      install -m 0640 -o root -g onramp "$WORK/key.pem" "$CONF_DIR/tls/key.pem"
      tls_cert=$CONF_DIR/tls/cert.pem tls_key=$CONF_DIR/tls/key.pem
    fi
  fi
  [ ${#cluster} -ge 8 ] || die "the cluster secret must have at least 8 characters"
  [ -n "$authtokens" ] || die "no authtokens"

  local grpc=${ONRAMP_GRPC_ADDR:-0.0.0.0:4443} region=${ONRAMP_REGION:-$CLOUD_REGION}
  local advertise=${ONRAMP_ADVERTISE_ADDR:-}
  if [ -z "$advertise" ]; then
    [ -n "$PRIVATE_IP" ] || die "no private IP found; set ONRAMP_ADVERTISE_ADDR"
    advertise="$PRIVATE_IP:${grpc##*:}"
  fi
  local edge_id=${ONRAMP_EDGE_ID:-$region-$NAME}
  [ -n "$tls_cert" ] && : "${ONRAMP_HTTPS_ADDR:=0.0.0.0:8443}"
  ONRAMP_TLS_CERT=$tls_cert ONRAMP_TLS_KEY=$tls_key

  : >"$WORK/edge.env"
  echo "# written by onramp-bootstrap.sh; rerun it instead of editing" >>"$WORK/edge.env"
  put ONRAMP_REGION "$region"
  put ONRAMP_EDGE_ID "$edge_id"
  put ONRAMP_ETCD "$ONRAMP_ETCD"
  put ONRAMP_NATS "$ONRAMP_NATS"
  put ONRAMP_ADVERTISE_ADDR "$advertise"
  put ONRAMP_GRPC_ADDR "$grpc"
  put ONRAMP_CLUSTER_SECRET "$cluster"
  put ONRAMP_AUTHTOKEN "$authtokens"
  local v
  for v in $EDGE_VARS; do
    [ "$v" = ONRAMP_GRPC_ADDR ] && continue
    [ -n "${!v:-}" ] && put "$v" "${!v}"
  done
  install -d -m 0755 "$CONF_DIR"
  install -m 0600 -o root -g root "$WORK/edge.env" "$CONF_DIR/edge.env"
  log "wrote $CONF_DIR/edge.env (edge $edge_id, region $region, advertise $advertise)"
}

# Listening below 1024 (e.g. 80/443 behind GCP's passthrough load balancer, which cannot map
# ports) needs CAP_NET_BIND_SERVICE for the unprivileged onramp user.
low_port_dropin() {
  local a port need=no
  for a in "${ONRAMP_HTTP_ADDR:-}" "${ONRAMP_HTTPS_ADDR:-}" "${ONRAMP_GRPC_ADDR:-}"; do
    [ -n "$a" ] || continue
    port=${a##*:}
    [[ $port =~ ^[0-9]+$ ]] && ((port > 0 && port < 1024)) && need=yes
  done
  local dir=/etc/systemd/system/onramp-edge.service.d
  if [ "$need" = yes ]; then
    mkdir -p "$dir"
    printf '[Service]\nAmbientCapabilities=CAP_NET_BIND_SERVICE\nCapabilityBoundingSet=CAP_NET_BIND_SERVICE\n' >"$dir/low-ports.conf"
  else
    rm -f "$dir/low-ports.conf"
  fi
}

start_edge() {
  local unit=$PREFIX/deploy/systemd/onramp-edge.service
  if [ -d /run/systemd/system ]; then
    [ -f "$unit" ] || die "$unit is missing from the release"
    install -m 0644 "$unit" /etc/systemd/system/onramp-edge.service
    low_port_dropin
    systemctl daemon-reload
    systemctl enable onramp-edge.service
    systemctl restart onramp-edge.service
    log "onramp-edge enabled and (re)started; logs: journalctl -u onramp-edge"
  else
    [ -f "$unit" ] && install -m 0644 "$unit" /etc/systemd/system/onramp-edge.service
    log "systemd is not running (a container?): the edge was configured, not started. Start it with:"
    echo "  set -a; . $CONF_DIR/edge.env; set +a; exec runuser -u onramp -- node $PREFIX/cli/bin/onramp.js edge"
  fi
}

ensure_packages
ensure_node
install_release
ensure_user
instance_facts
write_edge_env
start_edge
log "done"
