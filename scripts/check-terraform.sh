#!/usr/bin/env bash
# Offline checks of deploy/terraform (no cloud provider is downloaded or called):
#  1. `terraform fmt -check -recursive deploy/terraform` (skipped, loudly, without terraform)
#  2. every `variable` and `output` block under deploy/terraform has a description
#  3. `bash -n` on every .sh under deploy/terraform
#  4. module calls (`terraform validate` needs the providers, which may not be downloadable): every
#     argument of a local `module` block is a variable of that module, every variable without a
#     default is given, every module.NAME.OUTPUT referenced exists
#  5. the edge cloud-init for each secrets provider (aws, gcp, azure, env) and the etcd/NATS node
#     cloud-init are rendered by Terraform itself (deploy/terraform/bootstrap/render-test: a root
#     module without providers, applied with its state and data dir in a temp dir); each must be
#     YAML starting with #cloud-config, the embedded bootstrap script must equal
#     deploy/terraform/bootstrap/onramp-bootstrap.sh and pass `bash -n`, bootstrap.env must be
#     KEY=value lines (skipped, loudly, without terraform)
# Leaves nothing in the repository. Exit status 1 with "check-terraform: FAIL" on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TF_DIR=deploy/terraform

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "check-terraform: FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { echo "check-terraform: ok: $*"; }

export CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 TF_INPUT=0
# A CLI config file that does not exist makes every terraform command warn; use an empty one.
if [ -n "${TF_CLI_CONFIG_FILE:-}" ] && [ ! -f "$TF_CLI_CONFIG_FILE" ]; then
  : >"$tmp/empty.tfrc"
  export TF_CLI_CONFIG_FILE=$tmp/empty.tfrc
fi

have_tf=yes
if ! command -v terraform >/dev/null; then
  have_tf=no
  echo "################################################################################" >&2
  echo "check-terraform: WARNING: terraform is not on PATH: SKIPPING terraform fmt and the" >&2
  echo "check-terraform: WARNING: cloud-init render test. Install terraform >= 1.5 to run them." >&2
  echo "################################################################################" >&2
fi

# 1. formatting
if [ "$have_tf" = yes ]; then
  if out=$(terraform fmt -check -recursive -list=true "$TF_DIR" 2>&1); then
    ok "terraform fmt"
  else
    fail "terraform fmt -check: run 'terraform fmt -recursive $TF_DIR'; files: $out"
  fi
fi

# 2. descriptions
if node - "$TF_DIR" <<'EOF'; then ok "every variable and output has a description"; else fail "variables/outputs without a description (above)"; fi
const fs = require("node:fs"), path = require("node:path");
const files = [];
(function walk(d) {
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    if (e.name.startsWith(".")) continue;
    const p = path.join(d, e.name);
    if (e.isDirectory()) walk(p); else if (p.endsWith(".tf")) files.push(p);
  }
})(process.argv[2]);
let bad = 0, seen = 0;
for (const f of files) {
  const src = fs.readFileSync(f, "utf8");
  // Blank out comments and string contents (keeping offsets), so braces and keys are real ones.
  let clean = "", i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === "#" || (c === "/" && src[i + 1] === "/")) { while (i < src.length && src[i] !== "\n") { clean += " "; i++; } continue; }
    if (c === "/" && src[i + 1] === "*") { const e = src.indexOf("*/", i + 2); const end = e < 0 ? src.length : e + 2; clean += src.slice(i, end).replace(/[^\n]/g, " "); i = end; continue; }
    const h = /^<<-?([A-Z_]+)\n/.exec(src.slice(i, i + 40));
    if (h) { const m = new RegExp(`\\n\\s*${h[1]}\\n`).exec(src.slice(i)); const end = m ? i + m.index + m[0].length - 1 : src.length; clean += '""' + src.slice(i + 2, end).replace(/[^\n]/g, " "); i = end; continue; }
    if (c === '"') { clean += '"'; i++; while (i < src.length && src[i] !== '"') { if (src[i] === "\\") { clean += " "; i++; } clean += src[i] === "\n" ? "\n" : " "; i++; } clean += '"'; i++; continue; }
    clean += c; i++;
  }
  const re = /^\s*(variable|output)\s+"([^"]*)"\s*\{/gm;
  const names = [...src.matchAll(re)];
  for (const m of clean.matchAll(/^\s*(variable|output)\s+"\s*"\s*\{/gm)) {
    const name = names.find((n) => n.index === m.index)?.[2] ?? "?";
    let depth = 0, j = m.index + m[0].length - 1, body = "";
    for (; j < clean.length; j++) {
      if (clean[j] === "{") depth++;
      else if (clean[j] === "}" && --depth === 0) break;
      if (depth === 1) body += clean[j]; else if (clean[j] === "\n") body += "\n";
    }
    seen++;
    if (!/^\s*description\s*=/m.test(body)) {
      const line = src.slice(0, m.index).split("\n").length + (src[m.index] === "\n" ? 1 : 0);
      console.error(`  ${f}:${line}: ${m[1]} "${name}" has no description`);
      bad++;
    }
  }
}
if (seen === 0) { console.error("  no variable or output blocks found"); process.exit(1); }
process.exit(bad ? 1 : 0);
EOF

# 3. shell syntax
while IFS= read -r -d '' sh; do
  if bash -n "$sh"; then ok "bash -n $sh"; else fail "bash -n $sh"; fi
done < <(find "$TF_DIR" -name '*.sh' -print0)

# 4. module interfaces (what `terraform validate` would say about module calls)
if node - "$TF_DIR" <<'EOF'; then ok "module calls match the modules' variables and outputs"; else fail "module calls (above)"; fi
const fs = require("node:fs"), path = require("node:path");
// Comments out, strings kept (a '#' inside a string is not a comment).
const strip = (s) => s.replace(/("(?:[^"\\\n]|\\.)*")|#.*|\/\/.*/g, (m, str) => str ?? "");
const dirs = new Set();
(function walk(d) {
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    if (e.name.startsWith(".")) continue;
    const p = path.join(d, e.name);
    if (e.isDirectory()) walk(p); else if (p.endsWith(".tf")) dirs.add(d);
  }
})(process.argv[2]);
const load = (d) => fs.readdirSync(d).filter((f) => f.endsWith(".tf")).map((f) => strip(fs.readFileSync(path.join(d, f), "utf8"))).join("\n");
const blocks = (src, kind) => [...src.matchAll(new RegExp(`^${kind} "([\\w-]+)" \\{\\n([\\s\\S]*?)^\\}`, "gm"))].map((m) => ({ name: m[1], body: m[2] }));
let bad = 0, calls = 0;
for (const dir of dirs) {
  const src = load(dir);
  for (const call of blocks(src, "module")) {
    const source = /^\s*source\s*=\s*"(\.{1,2}\/[^"]*)"/m.exec(call.body)?.[1];
    if (!source) continue;
    calls++;
    const target = path.join(dir, source), msrc = load(target);
    const vars = new Map(blocks(msrc, "variable").map((v) => [v.name, /^\s*default\s*=/m.test(v.body)]));
    const outputs = new Set(blocks(msrc, "output").map((o) => o.name));
    const args = [...call.body.matchAll(/^  ([a-z_][a-z0-9_]*)\s*=/gm)].map((m) => m[1])
      .filter((a) => !["source", "providers", "for_each", "count", "depends_on", "version"].includes(a));
    const where = `${dir}: module "${call.name}" (${target})`;
    for (const a of args) if (!vars.has(a)) { console.error(`  ${where}: no variable "${a}"`); bad++; }
    for (const [v, hasDefault] of vars) if (!hasDefault && !args.includes(v)) { console.error(`  ${where}: required variable "${v}" not given`); bad++; }
    for (const m of src.matchAll(new RegExp(`module\\.${call.name}(?:\\[[^\\]]+\\])?\\.(\\w+)`, "g"))) {
      if (!outputs.has(m[1])) { console.error(`  ${where}: no output "${m[1]}"`); bad++; }
    }
  }
}
if (calls === 0) { console.error("  no module calls found"); process.exit(1); }
process.exit(bad ? 1 : 0);
EOF

# 5. cloud-init rendered by terraform, without providers
if [ "$have_tf" = yes ]; then
  export TF_DATA_DIR=$tmp/tf-data
  rt=$TF_DIR/bootstrap/render-test
  if ! terraform -chdir="$rt" init -backend=false >"$tmp/init.log" 2>&1; then
    cat "$tmp/init.log" >&2
    fail "terraform init in $rt"
  elif ! terraform -chdir="$rt" apply -auto-approve -state="$tmp/render.tfstate" >"$tmp/apply.log" 2>&1; then
    cat "$tmp/apply.log" >&2
    fail "terraform apply (render) in $rt"
  elif ! terraform -chdir="$rt" output -state="$tmp/render.tfstate" -json cloud_init >"$tmp/cloud-init.json" 2>"$tmp/output.log"; then
    cat "$tmp/output.log" >&2
    fail "terraform output in $rt"
  elif ROOT=$ROOT TMP=$tmp node - <<'EOF'; then
const fs = require("node:fs"), path = require("node:path"), { execFileSync } = require("node:child_process");
const { createRequire } = require("node:module");
const root = process.env.ROOT, tmp = process.env.TMP;
let YAML = null;
try { YAML = createRequire(path.join(root, "package.json"))("yaml"); } catch { console.log("check-terraform: note: the yaml package is not in node_modules; structural YAML check only"); }
const rendered = JSON.parse(fs.readFileSync(path.join(tmp, "cloud-init.json"), "utf8"));
const script = fs.readFileSync(path.join(root, "deploy/terraform/bootstrap/onramp-bootstrap.sh"), "utf8");
let bad = 0;
const fail = (k, msg) => { console.error(`check-terraform: FAIL: cloud-init ${k}: ${msg}`); bad++; };
// Without the yaml package: top-level keys and the write_files entries, by indentation.
function structural(text) {
  const doc = { write_files: [] };
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    const top = /^([a-z_]+):/.exec(l);
    if (top) doc[top[1]] ??= [];
    const p = /^  - path: (\S+)/.exec(l);
    if (!p) continue;
    const f = { path: p[1] };
    for (i++; i < lines.length && /^    /.test(lines[i]); i++) {
      if (/^    content: \|\s*$/.test(lines[i])) {
        const body = [];
        for (i++; i < lines.length && (/^      /.test(lines[i]) || lines[i].trim() === ""); i++) body.push(lines[i].slice(6));
        while (body.length && body[body.length - 1] === "") body.pop();
        f.content = body.join("\n") + "\n";
        i--;
      }
    }
    i--;
    doc.write_files.push(f);
  }
  if (lines.some((l) => /\t/.test(l.replace(/^      .*/, "")))) throw new Error("tab outside a block scalar");
  return doc;
}
for (const [k, text] of Object.entries(rendered)) {
  if (!text.startsWith("#cloud-config\n")) { fail(k, "does not start with #cloud-config"); continue; }
  let doc;
  try { doc = YAML ? YAML.parse(text, { strict: true, uniqueKeys: true }) : structural(text); }
  catch (e) { fail(k, `not valid YAML: ${e.message}`); continue; }
  if (!doc || typeof doc !== "object" || !Array.isArray(doc.write_files)) { fail(k, "no write_files list"); continue; }
  if (YAML && !Array.isArray(doc.runcmd)) { fail(k, "no runcmd list"); continue; }
  const file = (p) => doc.write_files.find((f) => f.path === p);
  if (k === "cluster") {
    const etcd = file("/etc/default/etcd"), nats = file("/etc/nats-server.conf");
    if (!etcd || !/^ETCD_INITIAL_CLUSTER=\S+=http:\/\/\S+:2380/m.test(etcd.content ?? "")) fail(k, "no ETCD_INITIAL_CLUSTER in /etc/default/etcd");
    if (!nats || !/nats:\/\/\S+:6222/.test(nats.content ?? "")) fail(k, "no NATS routes in /etc/nats-server.conf");
    if (YAML && !(doc.packages ?? []).includes("etcd-server")) fail(k, "etcd-server is not installed");
    continue;
  }
  const sh = file("/usr/local/sbin/onramp-bootstrap.sh"), env = file("/etc/onramp/bootstrap.env");
  if (!sh || typeof sh.content !== "string") { fail(k, "no /usr/local/sbin/onramp-bootstrap.sh"); continue; }
  if (!env || typeof env.content !== "string") { fail(k, "no /etc/onramp/bootstrap.env"); continue; }
  if (sh.content !== script) fail(k, "the embedded script differs from deploy/terraform/bootstrap/onramp-bootstrap.sh");
  const out = path.join(tmp, `bootstrap-${k}.sh`);
  fs.writeFileSync(out, sh.content);
  try { execFileSync("bash", ["-n", out], { stdio: "inherit" }); } catch { fail(k, "the embedded script fails bash -n"); }
  const vars = {};
  for (const line of env.content.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (!m) { fail(k, `bootstrap.env line is not KEY=value: ${line}`); continue; }
    vars[m[1]] = m[2];
  }
  if (vars.ONRAMP_SECRETS_PROVIDER !== k) fail(k, `ONRAMP_SECRETS_PROVIDER is ${vars.ONRAMP_SECRETS_PROVIDER}`);
  for (const need of ["ONRAMP_RELEASE_URL", "ONRAMP_ETCD", "ONRAMP_NATS"]) if (!vars[need]) fail(k, `bootstrap.env has no ${need}`);
  if (k !== "env" && !(vars.ONRAMP_SECRET_CLUSTER && vars.ONRAMP_SECRET_AUTHTOKENS)) fail(k, "bootstrap.env names no secrets");
}
process.exit(bad ? 1 : 0);
EOF
    ok "cloud-init rendered by terraform for aws, gcp, azure, env and the etcd/NATS node: YAML, #cloud-config, bash -n"
  else
    fail "rendered cloud-init (above)"
  fi
fi

if [ "$failures" -gt 0 ]; then
  echo "check-terraform: FAIL: $failures check(s) failed" >&2
  exit 1
fi
if [ "$have_tf" = yes ]; then
  echo "check-terraform: all checks passed"
else
  echo "check-terraform: all checks passed (terraform fmt and the render test were SKIPPED)"
fi
