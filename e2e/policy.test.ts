import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from "jose";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAgent, startEdge, TOKEN, type AgentProcess, type EdgeProcess } from "./harness/cluster.js";
import { send } from "./harness/http-client.js";
import { startOnramp, stopAll } from "./harness/processes.js";
import { startUpstream, type Upstream } from "./harness/upstream.js";

const dir = mkdtempSync(join(tmpdir(), "onramp-policy-"));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

let upstreamA: Upstream;
let upstreamB: Upstream;
let edge: EdgeProcess;
let api: AgentProcess;
let secure: AgentProcess;
let jwks: Server;
let goodKey: CryptoKey;
let otherKey: CryptoKey;

const gatewayConfig = () => `
cloud_endpoints:
  - url: http://gateway.e2e.localhost
    traffic_policy:
      on_http_request:
        - name: path a
          expressions: ["req.url.path.startsWith('/a/')"]
          actions: [{type: forward-internal, config: {url: "https://svc-a.internal"}}]
        - name: path b
          expressions: ["req.url.path.startsWith('/b/')"]
          actions: [{type: forward-internal, config: {url: "https://svc-b.internal"}}]
        - name: by header
          expressions: ["hasReqHeader('x-api')"]
          actions: [{type: forward-internal, config: {url: "https://\${req.headers['x-api'][0]}.internal"}}]
        - name: fallback
          actions: [{type: custom-response, config: {status_code: 403, body: "no route"}}]
`;

const apiPolicy = `
on_http_request:
  - name: rewrite v0
    actions: [{type: url-rewrite, config: {from: "v0/user/([0-9]+)", to: "v1/user?id=$1"}}]
  - name: client ip
    actions: [{type: add-headers, config: {headers: {x-client-ip: "\${conn.client_ip}"}}}]
  - name: per key
    expressions: ["hasReqHeader('x-api-key')"]
    actions:
      - type: rate-limit
        config: {algorithm: sliding_window, capacity: 30, rate: 60s, bucket_key: ["req.headers['x-api-key'][0]"]}
on_http_response:
  - name: compress
    actions: [{type: compress-response, config: {algorithms: [br, gzip]}}]
`;

beforeAll(async () => {
  upstreamA = await startUpstream("A");
  upstreamB = await startUpstream("B");
  const good = await generateKeyPair("RS256");
  goodKey = good.privateKey;
  otherKey = (await generateKeyPair("RS256")).privateKey;
  const jwk = { ...(await exportJWK(good.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
  jwks = createServer((_req, res) => res.end(JSON.stringify({ keys: [jwk] })));
  await new Promise<void>((resolve) => jwks.listen(0, "127.0.0.1", resolve));
  const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;

  // One process: the circuit breaker's state is each worker's own (as each edge's in a mesh), and
  // the case below counts failures at one process. Rate limits across workers: workers.test.ts.
  edge = await startEdge(["--workers", "1", "--config", file("edge.yml", gatewayConfig())]);
  await startAgent(edge, upstreamA.target, ["--url", "https://svc-a.internal"], "svc-a");
  await startAgent(edge, upstreamB.target, ["--url", "https://svc-b.internal"], "svc-b");
  api = await startAgent(edge, upstreamA.target, ["--url", "http://api.e2e.localhost", "--traffic-policy-file", file("api.yml", apiPolicy)], "api");
  secure = await startAgent(edge, upstreamA.target, [
    "--url", "http://secure.e2e.localhost",
    "--traffic-policy-file",
    file("secure.yml", `
on_http_request:
  - actions:
      - type: jwt-validation
        config:
          issuer: {allow_list: [{value: "https://issuer.e2e"}]}
          audience: {allow_list: [{value: "onramp-e2e"}]}
          http: {tokens: [{type: jwt, method: header, name: Authorization, prefix: "Bearer "}]}
          jws: {allowed_algorithms: [RS256], keys: {sources: {additional_jkus: ["${jwksUrl}"]}}}
`),
  ], "secure");
});

afterAll(async () => {
  await stopAll();
  await upstreamA.close();
  await upstreamB.close();
  jwks?.close();
});

const json = (body: string) => JSON.parse(body) as { upstream: string; path: string; headers: Record<string, string> };

describe("API gateway on a cloud endpoint", () => {
  it("routes by path to two internal endpoints", async () => {
    const a = await send({ base: edge.httpUrl, host: "gateway.e2e.localhost", path: "/a/orders" });
    const b = await send({ base: edge.httpUrl, host: "gateway.e2e.localhost", path: "/b/users" });
    expect([a.status, json(a.body).upstream, json(a.body).path]).toEqual([200, "A", "/a/orders"]);
    expect([b.status, json(b.body).upstream]).toEqual([200, "B"]);
  });

  it("routes by header with an interpolated internal URL", async () => {
    const reply = await send({ base: edge.httpUrl, host: "gateway.e2e.localhost", path: "/x", headers: { "x-api": "svc-b" } });
    expect(json(reply.body).upstream).toBe("B");
    const missing = await send({ base: edge.httpUrl, host: "gateway.e2e.localhost", path: "/x", headers: { "x-api": "nope" } });
    expect(missing.status).toBe(404);
    expect(missing.headers["onramp-error-code"]).toBe("ERR_ONRAMP_ENDPOINT_NOT_FOUND");
  });

  it("falls back to a 403 custom response", async () => {
    const reply = await send({ base: edge.httpUrl, host: "gateway.e2e.localhost", path: "/elsewhere" });
    expect(reply.status).toBe(403);
    expect(reply.body).toBe("no route");
    expect(reply.headers["onramp-error-code"]).toBeUndefined();
  });

  it("never exposes internal endpoints on the public listener", async () => {
    const reply = await send({ base: edge.httpUrl, host: "svc-a.internal", path: "/" });
    expect(reply.status).toBe(404);
    expect(reply.headers["onramp-error-code"]).toBe("ERR_ONRAMP_ENDPOINT_NOT_FOUND");
  });
});

describe("agent endpoint policies", () => {
  it("rewrites v0/user/N to v1/user?id=N", async () => {
    const reply = await send({ base: edge.httpUrl, host: api.host, path: "/v0/user/42" });
    expect(json(reply.body).path).toBe("/v1/user?id=42");
  });

  it("adds a header interpolated from the connection", async () => {
    const reply = await send({ base: edge.httpUrl, host: api.host, path: "/anything" });
    expect(json(reply.body).headers["x-client-ip"]).toBe("127.0.0.1");
  });

  it("allows 30 requests per minute per x-api-key, then 429 with Retry-After", async () => {
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 31; i++) {
      last = await send({ base: edge.httpUrl, host: api.host, path: "/limited", headers: { "x-api-key": "key-1" } });
      statuses.push(last.status);
    }
    expect(statuses.slice(0, 30).every((s) => s === 200)).toBe(true);
    expect(statuses[30]).toBe(429);
    expect(last!.headers["onramp-error-code"]).toBe("ERR_ONRAMP_RATE_LIMITED");
    expect(Number(last!.headers["retry-after"])).toBeGreaterThan(0);
    // Another key has its own bucket.
    const other = await send({ base: edge.httpUrl, host: api.host, path: "/limited", headers: { "x-api-key": "key-2" } });
    expect(other.status).toBe(200);
  });
});

describe("circuit-breaker", () => {
  it("opens after the upstream keeps failing, answering 503 CIRCUIT_OPEN without trying it", async () => {
    const dead = await startUpstream("dead");
    const target = dead.target;
    await dead.close();
    const breaker = await startAgent(edge, target, [
      "--url", "http://fragile.e2e.localhost",
      "--traffic-policy-file",
      file("breaker.yml", "on_http_request:\n  - actions: [{type: circuit-breaker, config: {error_threshold: 0.5, volume_threshold: 5, tripped_duration: 60s}}]\n"),
    ], "breaker");
    const codes: string[] = [];
    for (let i = 0; i < 8; i++) {
      const reply = await send({ base: edge.httpUrl, host: breaker.host, path: "/" });
      codes.push(`${reply.status} ${reply.headers["onramp-error-code"]}`);
    }
    // The first five reach the (dead) upstream and count as failures; then the circuit is open.
    expect(codes.slice(0, 5)).toEqual(Array(5).fill("502 ERR_ONRAMP_UPSTREAM_REFUSED"));
    expect(codes.slice(5)).toEqual(Array(3).fill("503 ERR_ONRAMP_CIRCUIT_OPEN"));
    await breaker.proc.stop();
  });
});

describe("on_tcp_connect", () => {
  it("closes the client's connection when restrict-ips denies it, before any request is forwarded", async () => {
    const walled = await startAgent(edge, upstreamA.target, [
      "--url", "http://walled.e2e.localhost",
      "--traffic-policy-file", file("walled.yml", "on_tcp_connect:\n  - actions: [{type: restrict-ips, config: {deny: [\"127.0.0.0/8\"]}}]\n"),
    ], "walled");
    const outcome = await send({ base: edge.httpUrl, host: walled.host, path: "/secret" }).then(
      (reply) => `answered ${reply.status}`,
      (err: NodeJS.ErrnoException) => err.code ?? err.message,
    );
    expect(outcome).toMatch(/ECONNRESET|socket hang up/);
    await walled.proc.stop();
  });
});

describe("response phase", () => {
  it("compresses a streamed response with the encoding the client prefers", async () => {
    const { request } = await import("node:http");
    const { gunzipSync } = await import("node:zlib");
    const url = new URL(edge.httpUrl);
    const result = await new Promise<{ encoding: string | undefined; vary: string | undefined; body: Buffer }>((resolve, reject) => {
      const req = request({ hostname: url.hostname, port: url.port, path: "/bytes/300000", headers: { host: api.host, "accept-encoding": "gzip" } }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ encoding: res.headers["content-encoding"], vary: res.headers.vary, body: Buffer.concat(chunks) }));
      });
      req.on("error", reject);
      req.end();
    });
    expect(result.encoding).toBe("gzip");
    expect(result.vary?.toLowerCase()).toContain("accept-encoding");
    expect(result.body.length).toBeLessThan(300_000);
    expect(gunzipSync(result.body).equals(Buffer.alloc(300_000, 0x61))).toBe(true);
  });

  it("leaves the response alone for a client that accepts no encoding", async () => {
    const reply = await send({ base: edge.httpUrl, host: api.host, path: "/bytes/1000" });
    expect(reply.headers["content-encoding"]).toBeUndefined();
    expect(reply.body.length).toBe(1000);
  });
});

describe("policies apply to WebSocket upgrades too", () => {
  const connect = async (host: string, headers: Record<string, string> = {}) => {
    const { default: WebSocket } = await import("ws");
    const ws = new WebSocket(`ws://${edge.http}/ws`, { headers: { host, ...headers } });
    return new Promise<{ ok: true; echo: string } | { ok: false; status: number }>((resolve) => {
      ws.once("unexpected-response", (_req, res) => resolve({ ok: false, status: res.statusCode ?? 0 }));
      ws.once("open", () => {
        ws.once("message", (data) => {
          ws.close();
          resolve({ ok: true, echo: data.toString() });
        });
        ws.send("through the gateway");
      });
    });
  };

  it("refuses an upgrade that fails jwt-validation, and lets a valid one through", async () => {
    expect(await connect(secure.host)).toEqual({ ok: false, status: 401 });
    const jwt = await new SignJWT({})
      .setProtectedHeader({ alg: "RS256", kid: "k1" })
      .setIssuer("https://issuer.e2e")
      .setAudience("onramp-e2e")
      .setExpirationTime("5m")
      .sign(goodKey);
    expect(await connect(secure.host, { authorization: `Bearer ${jwt}` })).toEqual({ ok: true, echo: "through the gateway" });
  });

  it("forwards an upgrade to an internal endpoint from a cloud endpoint", async () => {
    expect(await connect("gateway.e2e.localhost", { "x-api": "svc-a" })).toEqual({ ok: true, echo: "through the gateway" });
  });
});

describe("JWT validation against a local JWKS", () => {
  const token = (key: CryptoKey, claims: { iss?: string; exp?: number } = {}) =>
    new SignJWT({})
      .setProtectedHeader({ alg: "RS256", kid: "k1" })
      .setIssuer(claims.iss ?? "https://issuer.e2e")
      .setAudience("onramp-e2e")
      .setIssuedAt()
      .setExpirationTime(claims.exp ?? Math.floor(Date.now() / 1000) + 300)
      .sign(key);
  const call = async (authorization?: string) =>
    send({ base: edge.httpUrl, host: secure.host, path: "/private", headers: authorization ? { authorization } : {} });

  it("accepts a valid token", async () => {
    expect((await call(`Bearer ${await token(goodKey)}`)).status).toBe(200);
  });

  it.each([
    ["expired", async () => `Bearer ${await token(goodKey, { exp: Math.floor(Date.now() / 1000) - 60 })}`],
    ["from the wrong issuer", async () => `Bearer ${await token(goodKey, { iss: "https://evil.e2e" })}`],
    ["signed with the wrong key", async () => `Bearer ${await token(otherKey)}`],
    ["missing", async () => undefined],
  ])("refuses a token that is %s with 401", async (_name, make) => {
    const reply = await call(await make());
    expect(reply.status).toBe(401);
    expect(reply.headers["onramp-error-code"]).toBe("ERR_ONRAMP_UNAUTHORIZED");
    expect(reply.headers["www-authenticate"]).toMatch(/^Bearer/);
  });
});

describe("onramp start", () => {
  it("binds every endpoint of onramp.yml, with inline policies, and prints a Forwarding line each", async () => {
    const config = file(
      "onramp.yml",
      `edge: ${edge.agent}
authtoken: ${TOKEN}
endpoints:
  - upstream: ${upstreamA.target}
    url: http://multi-a.e2e.localhost
    traffic_policy:
      on_http_request:
        - actions: [{type: add-headers, config: {headers: {x-from-inline: "yes"}}}]
  - upstream: ${upstreamB.target}
    url: http://multi-b.e2e.localhost
`,
    );
    const agent = startOnramp("start", ["start", "--config", config]);
    await agent.waitForLine("stdout", /multi-b/);
    // The URLs as a client types them: with the edge's port.
    const port = edge.http.split(":").pop();
    expect(agent.stdout).toEqual([
      `Forwarding http://multi-a.e2e.localhost:${port} -> http://${upstreamA.target}`,
      `Forwarding http://multi-b.e2e.localhost:${port} -> http://${upstreamB.target}`,
    ]);
    const a = json((await send({ base: edge.httpUrl, host: "multi-a.e2e.localhost", path: "/x" })).body);
    const b = json((await send({ base: edge.httpUrl, host: "multi-b.e2e.localhost", path: "/x" })).body);
    expect([a.upstream, a.headers["x-from-inline"]]).toEqual(["A", "yes"]);
    expect([b.upstream, b.headers["x-from-inline"]]).toEqual(["B", undefined]);
    expect((await agent.stop("SIGTERM")).code).toBe(0);
  });
});

describe("invalid policies", () => {
  it("refuses a bind whose policy has a YAML syntax error; the agent exits 1 with the position", async () => {
    const agent = startOnramp("bad-yaml", ["http", upstreamA.target, "--edge", edge.agent, "--authtoken", TOKEN, "--traffic-policy-file", file("syntax.yml", "on_http_request:\n  - name: x\n    actions: [\n")]);
    expect((await agent.exited).code).toBe(1);
    expect(agent.stdout).toEqual([]);
    expect(agent.stderr.join("\n")).toMatch(/traffic policy is invalid/);
    expect(agent.stderr.join("\n")).toMatch(/:\d+:\d+:/);
  });

  it("refuses a bind whose policy has bad CEL, naming the rule, the field and the position", async () => {
    const policy = file("cel.yml", "on_http_request:\n  - name: broken\n    expressions: [\"req.method == \"]\n    actions: [{type: deny}]\n");
    const agent = startOnramp("bad-cel", ["http", upstreamA.target, "--edge", edge.agent, "--authtoken", TOKEN, "--traffic-policy-file", policy]);
    expect((await agent.exited).code).toBe(1);
    // Named after the file the user wrote, so an editor can jump to it.
    expect(agent.stderr.join("\n")).toMatch(/cel\.yml:3:\d+: on_http_request\[0\] "broken": expressions\[0\]/);
  });

  it("onramp policy check prints ok or the errors, with a matching exit code", async () => {
    const good = startOnramp("check-ok", ["policy", "check", file("ok.yml", apiPolicy)]);
    expect((await good.exited).code).toBe(0);
    expect(good.stdout).toEqual(["ok"]);
    const bad = startOnramp("check-bad", ["policy", "check", "--cloud", file("not-terminating.yml", apiPolicy)]);
    expect((await bad.exited).code).toBe(1);
    expect(bad.stdout.join("\n")).toMatch(/terminating/);
  });

  it("refuses to start an edge whose cloud endpoint policy does not terminate", async () => {
    const config = file("cloud-bad.yml", `cloud_endpoints:\n  - url: http://open.e2e.localhost\n    traffic_policy_file: api.yml\n`);
    const bad = startOnramp("edge-bad-cloud", ["edge", "--config", config, "--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--admin-addr", "", "--authtoken", "t"]);
    expect((await bad.exited).code).toBe(1);
    expect(bad.stderr.join("\n")).toMatch(/api\.yml.*terminating/s);
  });
});
