import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOOPBACK_EDGE_ARGS, startEdge, TOKEN, type EdgeProcess } from "./harness/cluster.js";
import { send } from "./harness/http-client.js";
import { startOnramp, stopAll } from "./harness/processes.js";
import { startUpstream, type Upstream } from "./harness/upstream.js";

// `secrets:` in `onramp edge --config` and ONRAMP_SECRET_* variables, as policies'
// secrets.get(vault, name) reads them: on a cloud endpoint and on an agent's bind. No secret's
// value may ever appear in an error.

const dir = mkdtempSync(join(tmpdir(), "onramp-secrets-"));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

const CONFIG_PASSWORD = "cfg-9c1e7a-never-printed";
const ENV_PASSWORD = "env-4d2b8f-never-printed";
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

let edge: EdgeProcess;
let upstream: Upstream;

beforeAll(async () => {
  upstream = await startUpstream();
  const config = file(
    "edge.yml",
    `secrets:
  users:
    alan: "${CONFIG_PASSWORD}"
cloud_endpoints:
  - url: http://private.e2e.localhost
    traffic_policy:
      on_http_request:
        - actions:
            - type: basic-auth
              config:
                credentials:
                  - "alan:\${secrets.get('users', 'alan')}"
                  - "grace:\${secrets.get('users', 'grace')}"
            - type: custom-response
              config: {status_code: 200, body: "welcome"}
`,
  );
  edge = await startEdge(["--config", config], "edge", { ONRAMP_SECRET_USERS__GRACE: ENV_PASSWORD });
});

afterAll(async () => {
  await stopAll();
  await upstream?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("secrets for traffic policies", () => {
  it("reads secrets from the config file and the environment", async () => {
    const get = (authorization?: string) => send({ base: edge.httpUrl, host: "private.e2e.localhost", headers: authorization ? { authorization } : {} });
    expect((await get()).status).toBe(401);
    expect((await get(basic("alan", "guess"))).status).toBe(401);
    expect(await get(basic("alan", CONFIG_PASSWORD))).toMatchObject({ status: 200, body: "welcome" });
    expect(await get(basic("grace", ENV_PASSWORD))).toMatchObject({ status: 200, body: "welcome" });
  });

  it("refuses an agent's bind whose policy names a secret the edge does not have, naming it", async () => {
    const policy = file("typo.yml", "on_http_request:\n  - name: auth\n    actions:\n      - type: add-headers\n        config: {headers: {x-key: \"${secrets.get('users', 'alna')}\"}}\n");
    const agent = startOnramp("typo-secret", ["http", upstream.target, "--edge", edge.agent, "--authtoken", TOKEN, "--traffic-policy-file", policy]);
    expect((await agent.exited).code).toBe(1);
    const output = agent.output();
    expect(output).toMatch(/typo\.yml:5:\d+: on_http_request\[0\] "auth": .*unknown secret 'alna' in vault 'users'/);
    expect(output).not.toContain(CONFIG_PASSWORD);
    expect(output).not.toContain(ENV_PASSWORD);
  });

  it("refuses a config whose secrets are not strings, naming the key and not the value", async () => {
    const config = file("bad-secrets.yml", `secrets:\n  users:\n    alan: "${CONFIG_PASSWORD}"\n    bob: 12345678\n`);
    const bad = startOnramp("edge-bad-secrets", [...LOOPBACK_EDGE_ARGS, "--config", config]);
    expect((await bad.exited).code).toBe(1);
    const output = bad.output();
    expect(output).toContain("secrets.users.bob must be a string");
    expect(output).not.toContain(CONFIG_PASSWORD);
    expect(output).not.toContain("12345678");
  });
});
