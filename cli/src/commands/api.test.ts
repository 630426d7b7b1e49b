import { OnrampError } from "@onramp/errors";
import { CommanderError } from "commander";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { OnrampCommand } from "../onramp-command.js";
import { registerApiCommand } from "./api.js";

/** A request as the fake API saw it. */
interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: string;
}

/** What the fake API answers: JSON (`body`) or exact text (`raw`). */
interface Reply {
  status: number;
  body?: unknown;
  raw?: string;
}

type Routes = Record<string, Reply | ((seen: Seen) => Reply)>;

/** A stand-in for the registry API on a random loopback port: answers `"METHOD /path?query"` from `routes`, 404 in the API's shape otherwise. */
async function startFakeApi(routes: Routes): Promise<{ url: string; seen: Seen[]; close: () => Promise<void> }> {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const request: Seen = { method: req.method ?? "", url: req.url ?? "", authorization: req.headers.authorization, contentType: req.headers["content-type"], body: Buffer.concat(chunks).toString("utf8") };
      seen.push(request);
      const route = routes[`${request.method} ${request.url}`];
      const reply = typeof route === "function" ? route(request) : (route ?? apiError(404, "NOT_FOUND", `no route ${request.url}`));
      const text = reply.raw ?? (reply.body === undefined ? "" : JSON.stringify(reply.body));
      res.writeHead(reply.status, text === "" || reply.raw !== undefined ? {} : { "content-type": "application/json" });
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function apiError(status: number, code: string, msg: string, details: unknown = {}): Reply {
  return { status, body: { error_code: `ERR_ONRAMP_${code}`, status_code: status, msg, details } };
}

/** Runs `onramp <args>` in-process as main.ts does: an OnrampError becomes `onramp: error: …` and exit 1. */
async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const program = new OnrampCommand().exitOverride().configureOutput({ writeOut: (t) => out.push(t), writeErr: (t) => err.push(t) });
  registerApiCommand(program, { out: (t) => void out.push(t), err: (t) => void err.push(t) });
  let code = 0;
  try {
    await program.parseAsync(args, { from: "user" });
  } catch (e) {
    if (e instanceof CommanderError) code = e.exitCode;
    else {
      err.push(`onramp: error: ${e instanceof OnrampError ? e.message : String(e)}\n`);
      code = 1;
    }
  }
  return { code, stdout: out.join(""), stderr: err.join("") };
}

const KEY = "test-api-key-0123456789";
let api: Awaited<ReturnType<typeof startFakeApi>> | undefined;
let dir: string;

/** Starts the fake API and returns the flags pointing at it. */
async function serve(routes: Routes): Promise<string[]> {
  api = await startFakeApi(routes);
  return ["--api-url", api.url, "--api-key", KEY];
}

beforeEach(() => {
  for (const name of Object.keys(process.env).filter((n) => n.startsWith("ONRAMP_"))) vi.stubEnv(name, undefined);
  dir = mkdtempSync(join(tmpdir(), "onramp-api-test-"));
});

afterEach(async () => {
  vi.unstubAllEnvs();
  await api?.close();
  api = undefined;
  rmSync(dir, { recursive: true, force: true });
});

const tokenA = { id: "tok_a1", uri: "/v1/authtokens/tok_a1", description: "bar-foo", acl: ["bind:foo.internal"], token_prefix: "onr_abcdefgh", created_at: "2025-03-01T12:00:00.123Z" };
const tokenB = { id: "tok_b2", uri: "/v1/authtokens/tok_b2", description: "", acl: [], token_prefix: "onr_zyxwvuts", created_at: "2025-03-02T08:30:00.000Z" };
const SECRET = "onr_abcdefgh_the_rest_of_the_secret";

describe("onramp api authtokens", () => {
  it("create: POST /v1/authtokens with the key and a JSON body; the secret alone on stdout, the note on stderr", async () => {
    const flags = await serve({ "POST /v1/authtokens": { status: 201, body: { ...tokenA, token: SECRET } } });
    const r = await run(["api", "authtokens", "create", "--description", "bar-foo", "--acl", "bind:foo.internal", "--acl", "bind:*.example.com,bind:x.dev", ...flags]);
    expect(r).toMatchObject({ code: 0, stdout: `${SECRET}\n` });
    expect(api!.seen).toEqual([
      { method: "POST", url: "/v1/authtokens", authorization: `Bearer ${KEY}`, contentType: "application/json", body: JSON.stringify({ description: "bar-foo", acl: ["bind:foo.internal", "bind:*.example.com", "bind:x.dev"] }) },
    ]);
    expect(r.stderr).toBe(
      [
        "Created authtoken tok_a1",
        "ID            tok_a1",
        "DESCRIPTION   bar-foo",
        "ACL           bind:foo.internal",
        "PREFIX        onr_abcdefgh",
        "CREATED       2025-03-01T12:00:00Z",
        "URI           /v1/authtokens/tok_a1",
        "This authtoken's secret is shown only this once: store it now. Onramp keeps only its hash and cannot show it again.",
        "",
      ].join("\n"),
    );
  });

  it("create --json prints the API's body as is; flags work after the subcommands and before them", async () => {
    const raw = `{"id":"tok_a1",  "token":"${SECRET}"}`;
    const flags = await serve({ "POST /v1/authtokens": { status: 201, raw } });
    const after = await run(["api", "authtokens", "create", "--description", "d", "--json", ...flags]);
    expect(after).toMatchObject({ code: 0, stdout: `${raw}\n` });
    expect(after.stderr).toMatch(/shown only this once/);
    const before = await run(["api", "--json", ...flags, "authtokens", "create"]);
    expect(before).toMatchObject({ code: 0, stdout: `${raw}\n` });
    expect(api!.seen.map((s) => s.body)).toEqual(['{"description":"d"}', "{}"]);
  });

  it("reads ONRAMP_API_URL and ONRAMP_API_KEY; a flag wins over the variable", async () => {
    const [, url] = await serve({ "GET /v1/authtokens": { status: 200, body: { authtokens: [], next_page_uri: null } } });
    vi.stubEnv("ONRAMP_API_URL", url);
    vi.stubEnv("ONRAMP_API_KEY", "from-env");
    expect(await run(["api", "authtokens", "list"])).toEqual({ code: 0, stdout: "", stderr: "No authtokens.\n" });
    expect(await run(["api", "authtokens", "list", "--api-key", "from-flag"])).toMatchObject({ code: 0 });
    expect(api!.seen.map((s) => s.authorization)).toEqual(["Bearer from-env", "Bearer from-flag"]);
  });

  it("list follows next_page_uri and prints one aligned table, never a secret", async () => {
    const flags = await serve({
      "GET /v1/authtokens": { status: 200, body: { authtokens: [tokenA], next_page_uri: "/v1/authtokens?limit=1&cursor=c1" } },
      "GET /v1/authtokens?limit=1&cursor=c1": { status: 200, body: { authtokens: [tokenB], next_page_uri: null } },
    });
    const r = await run(["api", "authtokens", "list", ...flags]);
    expect(r).toEqual({
      code: 0,
      stderr: "",
      stdout: [
        "ID       DESCRIPTION   ACL                  PREFIX         CREATED",
        "tok_a1   bar-foo       bind:foo.internal    onr_abcdefgh   2025-03-01T12:00:00Z",
        "tok_b2   -             (random URLs only)   onr_zyxwvuts   2025-03-02T08:30:00Z",
        "",
      ].join("\n"),
    });
    expect(api!.seen.map((s) => `${s.method} ${s.url} ${s.authorization}`)).toEqual([`GET /v1/authtokens Bearer ${KEY}`, `GET /v1/authtokens?limit=1&cursor=c1 Bearer ${KEY}`]);
  });

  it("list --json prints one page as received, and several pages as one document", async () => {
    const single = '{"authtokens": [], "next_page_uri": null}';
    let flags = await serve({ "GET /v1/authtokens": { status: 200, raw: single } });
    expect(await run(["api", "authtokens", "list", "--json", ...flags])).toEqual({ code: 0, stdout: `${single}\n`, stderr: "" });
    await api!.close();
    flags = await serve({
      "GET /v1/authtokens": { status: 200, body: { authtokens: [tokenA], next_page_uri: "/v1/authtokens?cursor=c1" } },
      "GET /v1/authtokens?cursor=c1": { status: 200, body: { authtokens: [tokenB], next_page_uri: null } },
    });
    const r = await run(["api", "authtokens", "list", "--json", ...flags]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ authtokens: [tokenA, tokenB], next_page_uri: null });
  });

  it("list --limit N reads one page and says there are more", async () => {
    const flags = await serve({ "GET /v1/authtokens?limit=1": { status: 200, body: { authtokens: [tokenA], next_page_uri: "/v1/authtokens?limit=1&cursor=c1" } } });
    const r = await run(["api", "authtokens", "list", "--limit", "1", ...flags]);
    expect(r.code).toBe(0);
    expect(r.stdout.split("\n")).toHaveLength(3);
    expect(r.stderr).toBe("(1 shown; there are more: leave out --limit to list them all)\n");
    expect(api!.seen).toHaveLength(1);
    expect(await run(["api", "authtokens", "list", "--limit", "0", ...flags])).toMatchObject({ code: 1, stderr: 'onramp: error: --limit "0": give a whole number from 1 to 1000\n' });
  });

  it("stops when the API hands back a cursor it gave before", async () => {
    const flags = await serve({ "GET /v1/authtokens": { status: 200, body: { authtokens: [tokenA], next_page_uri: "/v1/authtokens" } } });
    expect(await run(["api", "authtokens", "list", ...flags])).toMatchObject({ code: 1, stderr: "onramp: error: the API returned next_page_uri /v1/authtokens twice; stopping\n" });
  });

  it("get, update (only the flags given) and revoke", async () => {
    const flags = await serve({
      "GET /v1/authtokens/tok_a1": { status: 200, body: tokenA },
      "PATCH /v1/authtokens/tok_a1": { status: 200, body: { ...tokenA, acl: [] } },
      "DELETE /v1/authtokens/tok_a1": { status: 204 },
    });
    expect((await run(["api", "authtokens", "get", "tok_a1", ...flags])).stdout).toMatch(/^ID            tok_a1\nDESCRIPTION   bar-foo\n/);
    const updated = await run(["api", "authtokens", "update", "tok_a1", "--clear-acl", ...flags]);
    expect(updated.stdout).toContain("ACL           (random URLs only)\n");
    await run(["api", "authtokens", "update", "tok_a1", "--description", "new", ...flags]);
    expect(await run(["api", "authtokens", "revoke", "tok_a1", ...flags])).toEqual({ code: 0, stdout: "Revoked authtoken tok_a1\n", stderr: "" });
    expect(await run(["api", "authtokens", "revoke", "tok_a1", "--json", ...flags])).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(api!.seen.map((s) => `${s.method} ${s.url} ${s.body}`)).toEqual([
      "GET /v1/authtokens/tok_a1 ",
      'PATCH /v1/authtokens/tok_a1 {"acl":[]}',
      'PATCH /v1/authtokens/tok_a1 {"description":"new"}',
      "DELETE /v1/authtokens/tok_a1 ",
      "DELETE /v1/authtokens/tok_a1 ",
    ]);
    expect(await run(["api", "authtokens", "update", "tok_a1", ...flags])).toMatchObject({ code: 1, stderr: "onramp: error: nothing to update: give --description, --acl or --clear-acl\n" });
    expect(api!.seen).toHaveLength(5);
  });
});

const POLICY = 'on_http_request:\n  - actions:\n      - type: forward-internal\n        config: {url: "https://foo.internal"}\n';
const cloudEndpoint = {
  id: "cep_0123456789abcdef",
  uri: "/v1/cloud_endpoints/cep_0123456789abcdef",
  url: "http://api.localhost",
  host: "api.localhost",
  traffic_policy: POLICY,
  description: "",
  created_at: "2025-03-01T12:00:00Z",
  updated_at: "2025-03-01T12:30:00Z",
};

describe("onramp api cloud-endpoints", () => {
  it("create sends the policy file's text and prints the API's JSON with --json", async () => {
    const file = join(dir, "api.yml");
    writeFileSync(file, POLICY);
    const flags = await serve({ "POST /v1/cloud_endpoints": { status: 201, body: cloudEndpoint } });
    const r = await run(["api", "cloud-endpoints", "create", "--url", "http://api.localhost", "--traffic-policy-file", file, "--json", ...flags]);
    expect(r).toEqual({ code: 0, stdout: `${JSON.stringify(cloudEndpoint)}\n`, stderr: "" });
    expect(JSON.parse(api!.seen[0]!.body)).toEqual({ url: "http://api.localhost", traffic_policy: POLICY });
  });

  it("a 422 prints the API's summary and each policy error as FILE:LINE:COLUMN: message, and exits 1", async () => {
    const file = join(dir, "broken.yml");
    writeFileSync(file, 'on_http_request:\n  - expressions: ["req.url.path.startsWith("]\n');
    // As the service words it: msg repeats the problems under the name traffic_policy.
    const errors = [
      { message: "syntax error: unexpected end of input", line: 2, column: 19, rule: "on_http_request[0]", field: "expressions[0]" },
      { message: "a cloud endpoint's on_http_request must end with a rule whose last action terminates", line: 1, column: 1, rule: null, field: null },
    ];
    const msg = `the traffic policy has 2 problems:\ntraffic_policy:2:19: on_http_request[0]: expressions[0]: ${errors[0]!.message}\ntraffic_policy:1:1: ${errors[1]!.message}`;
    const flags = await serve({
      "POST /v1/cloud_endpoints": apiError(422, "POLICY_INVALID", msg, { errors }),
      "PATCH /v1/cloud_endpoints/cep_x": apiError(422, "POLICY_INVALID", msg, { errors }),
    });
    const r = await run(["api", "cloud-endpoints", "create", "--url", "http://broken.localhost", "--traffic-policy-file", file, "--json", ...flags]);
    expect(r).toEqual({
      code: 1,
      stdout: "",
      stderr: [
        "onramp: error: the traffic policy has 2 problems:",
        `${file}:2:19: on_http_request[0]: expressions[0]: syntax error: unexpected end of input`,
        `${file}:1:1: a cloud endpoint's on_http_request must end with a rule whose last action terminates`,
        "",
      ].join("\n"),
    });
    const inline = await run(["api", "cloud-endpoints", "update", "cep_x", "--traffic-policy", "x", ...flags]);
    expect(inline).toMatchObject({ code: 1, stderr: `onramp: error: ${msg}\n` });
  });

  it("list and get: a table, and the record with its policy", async () => {
    const flags = await serve({
      "GET /v1/cloud_endpoints": { status: 200, body: { cloud_endpoints: [cloudEndpoint], next_page_uri: null } },
      "GET /v1/cloud_endpoints/cep_0123456789abcdef": { status: 200, body: { ...cloudEndpoint, description: "the api" } },
    });
    expect((await run(["api", "cloud-endpoints", "list", ...flags])).stdout).toBe(
      ["ID                     URL                    DESCRIPTION   UPDATED", "cep_0123456789abcdef   http://api.localhost   -             2025-03-01T12:30:00Z", ""].join("\n"),
    );
    expect((await run(["api", "cloud-endpoints", "get", "cep_0123456789abcdef", ...flags])).stdout).toBe(
      [
        "ID            cep_0123456789abcdef",
        "URL           http://api.localhost",
        "DESCRIPTION   the api",
        "UPDATED       2025-03-01T12:30:00Z",
        "HOST          api.localhost",
        "CREATED       2025-03-01T12:00:00Z",
        "URI           /v1/cloud_endpoints/cep_0123456789abcdef",
        "TRAFFIC POLICY",
        "  on_http_request:",
        "    - actions:",
        "        - type: forward-internal",
        '          config: {url: "https://foo.internal"}',
        "",
      ].join("\n"),
    );
  });

  it("create checks its flags before sending anything", async () => {
    const flags = await serve({});
    expect((await run(["api", "cloud-endpoints", "create", "--url", "http://a.localhost", ...flags])).stderr).toMatch(/needs a traffic policy: give --traffic-policy-file FILE or --traffic-policy TEXT/);
    expect((await run(["api", "cloud-endpoints", "create", "--url", "http://a.localhost", "--traffic-policy", "x", "--traffic-policy-file", "f", ...flags])).stderr).toMatch(/not both/);
    expect((await run(["api", "cloud-endpoints", "create", "--url", "http://a.localhost", "--traffic-policy-file", join(dir, "none.yml"), ...flags])).stderr).toMatch(/cannot read --traffic-policy-file .*none\.yml: no such file/);
    expect((await run(["api", "cloud-endpoints", "create", "--traffic-policy", "x", ...flags])).stderr).toMatch(/--url is required/);
    expect(api!.seen).toEqual([]);
  });

  it("delete sends DELETE and confirms", async () => {
    const flags = await serve({ "DELETE /v1/cloud_endpoints/cep_0123456789abcdef": { status: 204 } });
    expect(await run(["api", "cloud-endpoints", "delete", "cep_0123456789abcdef", ...flags])).toEqual({ code: 0, stdout: "Deleted cloud endpoint cep_0123456789abcdef\n", stderr: "" });
  });
});

describe("onramp api reserved-domains, api-keys, endpoints, edges", () => {
  const domain = { id: "*.example.com", uri: "/v1/reserved_domains/%2A.example.com", name: "*.example.com", description: "team", created_at: "2025-03-01T12:00:00Z" };

  it("reserved domains: reserve, list, get and release, a wildcard's * encoded in the path", async () => {
    const flags = await serve({
      "POST /v1/reserved_domains": { status: 201, body: domain },
      "GET /v1/reserved_domains": { status: 200, body: { reserved_domains: [domain], next_page_uri: null } },
      "GET /v1/reserved_domains/%2A.example.com": { status: 200, body: domain },
      "DELETE /v1/reserved_domains/%2A.example.com": { status: 204 },
    });
    expect((await run(["api", "reserved-domains", "reserve", "*.example.com", "--description", "team", ...flags])).stdout).toMatch(/^NAME          \*\.example\.com\n/);
    expect((await run(["api", "reserved-domains", "list", ...flags])).stdout).toBe("NAME            DESCRIPTION   CREATED\n*.example.com   team          2025-03-01T12:00:00Z\n");
    expect((await run(["api", "reserved-domains", "get", "*.example.com", ...flags])).code).toBe(0);
    expect((await run(["api", "reserved-domains", "release", "*.example.com", ...flags])).stdout).toBe("Released reserved domain *.example.com\n");
    expect(api!.seen.map((s) => `${s.method} ${s.url}`)).toEqual(["POST /v1/reserved_domains", "GET /v1/reserved_domains", "GET /v1/reserved_domains/%2A.example.com", "DELETE /v1/reserved_domains/%2A.example.com"]);
    expect(JSON.parse(api!.seen[0]!.body)).toEqual({ name: "*.example.com", description: "team" });
  });

  it("api keys: create prints the key alone on stdout; list; revoke", async () => {
    const key = { id: "key_k1", uri: "/v1/api_keys/key_k1", description: "ci", created_at: "2025-03-01T12:00:00Z" };
    const flags = await serve({
      "POST /v1/api_keys": { status: 201, body: { ...key, key: "onrapi_secret" } },
      "GET /v1/api_keys": { status: 200, body: { api_keys: [key], next_page_uri: null } },
      "DELETE /v1/api_keys/key_k1": { status: 204 },
    });
    const created = await run(["api", "api-keys", "create", "--description", "ci", ...flags]);
    expect(created).toMatchObject({ code: 0, stdout: "onrapi_secret\n" });
    expect(created.stderr).toMatch(/^Created API key key_k1\n[^]*This API key's secret is shown only this once/);
    expect((await run(["api", "api-keys", "list", ...flags])).stdout).toBe("ID       DESCRIPTION   CREATED\nkey_k1   ci            2025-03-01T12:00:00Z\n");
    expect((await run(["api", "api-keys", "revoke", "key_k1", ...flags])).stdout).toBe("Revoked API key key_k1\n");
  });

  it("endpoints and edges: tables of the live mesh, members under an endpoint", async () => {
    const member = { edge: "e1", region: "r1", agent_id: "ag_1", session_id: "s_1", upstream: "http://localhost:3000", weight: 1, healthy: true, load: 3 };
    const endpoints = [
      { id: "ep_0123456789ab", url: "https://foo.internal", type: "agent", pooling: true, members: [member, { ...member, edge: "e2", session_id: "s_2", healthy: null, load: null }] },
      { id: "ep_ba9876543210", url: "http://api.localhost", type: "cloud", pooling: false, members: [] },
    ];
    const edge = { id: "e1", uri: "/v1/edges/e1", region: "r1", advertise: "10.0.0.1:4443", http: "0.0.0.0:8080", started_at: "2025-03-01T12:00:00.5Z", version: "0.1.0", bindings: 2, sessions: 1, last_heartbeat: "2025-03-01T12:05:00.2Z" };
    const flags = await serve({
      "GET /v1/endpoints": { status: 200, body: { endpoints, next_page_uri: null } },
      "GET /v1/endpoints/ep_0123456789ab": { status: 200, body: endpoints[0] },
      "GET /v1/edges": { status: 200, body: { edges: [edge], next_page_uri: null } },
    });
    expect((await run(["api", "endpoints", "list", ...flags])).stdout).toBe(
      ["ID                URL                    TYPE    MEMBERS", "ep_0123456789ab   https://foo.internal   agent   2", "ep_ba9876543210   http://api.localhost   cloud   -", ""].join("\n"),
    );
    expect((await run(["api", "endpoints", "get", "ep_0123456789ab", ...flags])).stdout).toBe(
      [
        "ID        ep_0123456789ab",
        "URL       https://foo.internal",
        "TYPE      agent",
        "MEMBERS   2",
        "POOLING   true",
        "",
        "EDGE   REGION   AGENT   SESSION   UPSTREAM                WEIGHT   HEALTHY   LOAD",
        "e1     r1       ag_1    s_1       http://localhost:3000   1        true      3",
        "e2     r1       ag_1    s_2       http://localhost:3000   1        -         -",
        "",
      ].join("\n"),
    );
    expect((await run(["api", "edges", "list", ...flags])).stdout).toBe(
      "ID   REGION   ADVERTISE       SESSIONS   BINDINGS   HEARTBEAT              STARTED\ne1   r1       10.0.0.1:4443   1          2          2025-03-01T12:05:00Z   2025-03-01T12:00:00Z\n",
    );
  });
});

describe("onramp api: failures", () => {
  it("any other non-2xx: onramp: error: <msg>, exit 1, nothing on stdout", async () => {
    const flags = await serve({
      "GET /v1/authtokens/tok_zz": apiError(404, "NOT_FOUND", "no authtoken tok_zz"),
      "GET /v1/edges": apiError(401, "UNAUTHORIZED", "the API key is missing or not valid"),
      "GET /v1/endpoints": { status: 502, raw: "<html>bad gateway</html>" },
    });
    expect(await run(["api", "authtokens", "get", "tok_zz", "--json", ...flags])).toEqual({ code: 1, stdout: "", stderr: "onramp: error: no authtoken tok_zz\n" });
    expect(await run(["api", "edges", "list", ...flags])).toEqual({ code: 1, stdout: "", stderr: "onramp: error: the API key is missing or not valid\n" });
    expect(await run(["api", "endpoints", "list", ...flags])).toEqual({ code: 1, stdout: "", stderr: `onramp: error: ${api!.url}/v1/endpoints answered HTTP 502\n` });
    expect((await run(["api", "endpoints", "get", "nope", ...flags])).stderr).toBe("onramp: error: no route /v1/endpoints/nope\n");
  });

  it("an API that is not there: the URL and how to start one", async () => {
    await serve({});
    const url = api!.url;
    await api!.close();
    api = undefined;
    const r = await run(["api", "authtokens", "list", "--api-url", url, "--api-key", KEY]);
    expect(r).toEqual({
      code: 1,
      stdout: "",
      stderr:
        `onramp: error: cannot reach the Onramp API at ${url} (connection refused); start it with onramp edge (serves it on 127.0.0.1:4041) ` +
        "or onramp registry --etcd URL --api-addr HOST:PORT --api-key KEY, or point --api-url / ONRAMP_API_URL at where it runs\n",
    });
  });

  it("no key: says how to give one, and sends nothing", async () => {
    const [, url] = await serve({});
    const r = await run(["api", "authtokens", "list", "--api-url", url!]);
    expect(r).toMatchObject({ code: 1, stdout: "" });
    expect(r.stderr).toMatch(/^onramp: error: no API key: pass --api-key KEY or set ONRAMP_API_KEY/);
    expect(api!.seen).toEqual([]);
  });

  it("--api-url: host:port means http; other schemes and junk are refused naming the flag", async () => {
    const [, url] = await serve({ "GET /v1/edges": { status: 200, body: { edges: [], next_page_uri: null } } });
    expect((await run(["api", "edges", "list", "--api-url", url!.replace("http://", ""), "--api-key", KEY])).code).toBe(0);
    expect((await run(["api", "edges", "list", "--api-url", "ftp://x", "--api-key", KEY])).stderr).toBe("onramp: error: --api-url ftp://x: only http:// and https:// are supported\n");
    expect((await run(["api", "edges", "list", "--api-url", "http://[", "--api-key", KEY])).stderr).toMatch(/^onramp: error: --api-url "http:\/\/\[" is not a URL/);
  });

  it("a base URL with a path keeps it, for pages too", async () => {
    const flags = await serve({
      "GET /onramp/v1/edges": { status: 200, body: { edges: [], next_page_uri: "/v1/edges?cursor=c1" } },
      "GET /onramp/v1/edges?cursor=c1": { status: 200, body: { edges: [], next_page_uri: null } },
    });
    expect(await run(["api", "edges", "list", "--api-url", `${flags[1]}/onramp/`, "--api-key", KEY])).toEqual({ code: 0, stdout: "", stderr: "No edges.\n" });
  });
});
