import { describe, expect, it } from "vitest";
import type { RequestContext, ResponseInfo } from "./context.js";
import { endpointPort } from "./request-view.js";
import { type RequestInit, errorsOf, fakeRuntime, policyOf, request } from "./test-fixtures.js";

/** The variables from ngrok's reference that came after the first set: values, in both HTTP phases. */

const rt = fakeRuntime();

function body(expr: string): string {
  return `  - actions:\n      - type: custom-response\n        config: {status_code: 200, body: ${JSON.stringify(`\${${expr}}`)}}\n`;
}

function withConn(init: RequestInit, extra: Partial<RequestContext["conn"]> = {}, request_: Partial<RequestContext["request"]> = {}): RequestContext {
  const ctx = request(init);
  Object.assign(ctx.request, request_);
  return { ...ctx, conn: { ...ctx.conn, ...extra } };
}

async function renderReq(expr: string, ctx: RequestContext): Promise<string> {
  const out = await policyOf(`on_http_request:\n${body(expr)}`).onHttpRequest(ctx, rt);
  if (out.kind !== "respond" || out.status !== 200) throw new Error(`evaluation failed: ${JSON.stringify(out)}`);
  return out.body;
}

async function renderRes(expr: string, res: ResponseInfo, ctx: RequestContext = request()): Promise<string> {
  const out = await policyOf(`on_http_response:\n${body(expr)}`).onHttpResponse(ctx, res, rt);
  if (out.kind !== "respond" || out.status !== 200) throw new Error(`evaluation failed: ${JSON.stringify(out)}`);
  return out.body;
}

const response = (headers: Record<string, string | string[]>, statusCode = 200): ResponseInfo => ({
  statusCode,
  headers: new Map(Object.entries(headers).map(([k, v]) => [k, Array.isArray(v) ? v : [v]])),
});

describe("conn.* and endpoint.*", () => {
  const ctx = withConn(
    { url: "https://api.example.com/" },
    { socket: { bytesRead: 512, bytesWritten: 2048, localAddress: "::ffff:10.0.0.5", localPort: 8443 } },
  );
  const cases: Array<[string, string]> = [
    ["conn.bytes_in", "512"],
    ["conn.bytes_out", "2048"],
    ["conn.bytes_in > 100 && conn.bytes_out > 1000", "true"],
    ["conn.server_ip + ' ' + string(conn.server_port)", "10.0.0.5 8443"],
    ["endpoint.port", "443"],
    ["endpoint.addr", "api.example.com:443"],
  ];
  it.each(cases)("%s → %s", async (expr, expected) => {
    expect(await renderReq(expr, ctx)).toBe(expected);
  });

  it("reads the live byte counts, not a copy taken when the request arrived", async () => {
    const socket = { bytesRead: 1, bytesWritten: 2 };
    const live = withConn({}, { socket });
    socket.bytesRead = 99;
    expect(await renderReq("conn.bytes_in", live)).toBe("99");
  });

  it("counts 0 bytes and gives no server address when the connection reports none", async () => {
    expect(await renderReq("string(conn.bytes_in) + ' ' + string(conn.bytes_out) + ' [' + conn.server_ip + ']'", request())).toBe("0 0 []");
  });

  it("takes endpoint.port from the URL, else the scheme's default", () => {
    const base = { id: "e", host: "h.example.com" } as const;
    expect(endpointPort({ ...base, url: "http://h.example.com:8080", protocol: "http" })).toBe(8080);
    expect(endpointPort({ ...base, url: "http://h.example.com", protocol: "http" })).toBe(80);
    expect(endpointPort({ ...base, url: "tls://h.example.com", protocol: "tls" })).toBe(443);
    expect(endpointPort({ ...base, url: "tcp://1.tcp.example.com:20000", protocol: "tcp" })).toBe(20000);
    expect(endpointPort({ ...base, url: "https://h.example.com", protocol: "https", port: 9443 })).toBe(9443);
  });

  it("has time.now as ngrok types it, an RFC 3339 string that timestamp() reads, as ngrok's examples write it", async () => {
    expect(await renderReq("time.now.matches('^\\\\d{4}-\\\\d{2}-\\\\d{2}T\\\\d{2}:\\\\d{2}:\\\\d{2}Z$') && timestamp(time.now) > timestamp('2025-01-01T00:00:00Z')", request())).toBe("true");
    expect(errorsOf(`on_http_request:\n  - expressions: ["time.now > conn.ts.start"]\n    actions: [{type: deny}]\n`)).toMatch(/no matching overload|string/);
  });
});

describe("req.*", () => {
  const ctx = withConn(
    {
      url: "https://api.example.com:8443/a%20b/c?x=1&y=2",
      headers: { "content-encoding": ["gzip, BR", "deflate"], location: "/index.html" },
    },
    {},
    { httpVersion: "2.0", receivedAtMs: Date.UTC(2026, 0, 1, 0, 0, 5) },
  );
  const cases: Array<[string, string]> = [
    ["req.version", "HTTP/2.0"],
    ["req.content_encoding", '["gzip","br","deflate"]'],
    ["req.content_encoding[0] == 'gzip'", "true"],
    ["req.location", "/index.html"],
    ["req.trailers", "{}"],
    ["size(req.trailers)", "0"],
    ["req.ts.header_received", "2026-01-01T00:00:05.000Z"],
    ["req.ts.header_received > conn.ts.start", "true"],
    ["req.url.authority", "api.example.com:8443"],
    ["req.url.raw_path", "/a%20b/c"],
    ["req.url.uri", "/a%20b/c?x=1&y=2"],
    ["req.url.user_password", ""],
  ];
  it.each(cases)("%s → %s", async (expr, expected) => {
    expect(await renderReq(expr, ctx)).toBe(expected);
  });

  it("defaults: HTTP/1.1, no encodings, no Location, the connection's start as header_received", async () => {
    const expr = "req.version + ' ' + string(size(req.content_encoding)) + ' [' + req.location + '] ' + string(req.ts.header_received == conn.ts.start)";
    expect(await renderReq(expr, request())).toBe("HTTP/1.1 0 [] true");
  });

  it("follows url-rewrite in req.url.uri and req.url.raw_path", async () => {
    const policy = policyOf(`
on_http_request:
  - actions:
      - {type: url-rewrite, config: {from: "/old", to: "/new"}}
      - {type: custom-response, config: {status_code: 200, body: "\${req.url.uri} \${req.url.raw_path}"}}
`);
    const out = await policy.onHttpRequest(request({ url: "https://api.example.com/old?q=1" }), rt);
    expect(out).toMatchObject({ status: 200, body: "/new?q=1 /new" });
  });

  it("rejects req.ts.body_received at load, saying why", () => {
    expect(errorsOf(`on_http_request:\n  - expressions: ["req.ts.body_received > timestamp('2024-01-01T00:00:00Z')"]\n`)).toMatch(
      /req\.ts\.body_received is not available in Onramp/,
    );
  });
});

describe("res.*", () => {
  const res = response({
    "content-type": "Application/JSON; charset=UTF-8",
    "content-encoding": "gzip",
    "content-length": "1234",
    location: "https://example.com/next",
    "set-cookie": ["sid=abc; Path=/; HttpOnly; Secure; SameSite=Lax", "sid=deep; Path=/app; Max-Age=60", "theme=dark; Priority=High"],
  });
  const cases: Array<[string, string]> = [
    ["res.content_type", "application/json"],
    ["res.content_type == 'application/json' && res.content_type.parameters['charset'] == 'UTF-8'", "true"],
    ["res.content_type.raw", "Application/JSON; charset=UTF-8"],
    ["res.content_encoding", '["gzip"]'],
    ["res.content_length", "1234"],
    ["res.location", "https://example.com/next"],
    ["res.trailers", "{}"],
    ["size(res.cookies)", "2"],
    ["res.cookies['sid'][0].value + ' ' + res.cookies['sid'][1].value", "deep abc"],
    ["res.cookies['sid'][1].http_only && res.cookies['sid'][1].secure", "true"],
    ["res.cookies['sid'][1].same_site", "Lax"],
    ["res.cookies['sid'][0].max_age", "60s"],
    ["res.cookies['sid'][0].max_age == duration('1m')", "true"],
    ["res.cookies['sid'][1].expires", "0001-01-01T00:00:00.000Z"],
    ["res.cookies['theme'][0].unparsed_attributes['Priority']", "High"],
    ["getResCookie('sid').value", "deep"],
    ["getResCookie('sid').path", "/app"],
    ["getResCookie('nope').value", ""],
    ["hasResCookie('theme')", "true"],
    ["hasResCookie('nope')", "false"],
  ];
  it.each(cases)("%s → %s", async (expr, expected) => {
    expect(await renderRes(expr, res)).toBe(expected);
  });

  it("renders a whole cookie, timestamps and durations included, in ${}", async () => {
    expect(JSON.parse(await renderRes("getResCookie('sid')", res))).toMatchObject({ name: "sid", value: "deep", max_age: "60s", expires: "0001-01-01T00:00:00.000Z" });
    expect(JSON.parse(await renderRes("res.cookies", res)).theme).toHaveLength(1);
    expect(JSON.parse(await renderRes("conn.ts", res))).toEqual({ start: "2026-01-01T00:00:00.000Z" });
  });

  it("reads empty values from a response without those headers", async () => {
    const expr = "res.content_type + '|' + string(res.content_length) + '|' + string(size(res.content_encoding)) + '|' + res.location + '|' + string(size(res.cookies))";
    expect(await renderRes(expr, response({}))).toBe("|0|0||0");
    expect(await renderRes("res.content_length", response({ "content-length": "12x" }))).toBe("0");
  });

  it("sees Set-Cookie headers that an earlier action added", async () => {
    const policy = policyOf(`
on_http_response:
  - actions:
      - {type: add-headers, config: {headers: {set-cookie: "late=1; Path=/"}}}
      - {type: custom-response, config: {status_code: 200, body: "\${string(hasResCookie('late'))} \${res.cookies['late'][0].value}"}}
`);
    const out = await policy.onHttpResponse(request(), response({}), rt);
    expect(out).toMatchObject({ status: 200, body: "true 1" });
  });

  it("allows the response cookie macros only in on_http_response", () => {
    expect(errorsOf(`on_http_request:\n  - expressions: ["hasResCookie('a')"]\n`)).toMatch(/hasResCookie\(\) is only available in on_http_response/);
    expect(errorsOf(`on_http_request:\n  - expressions: ["getResCookie('a').value == 'x'"]\n`)).toMatch(/getResCookie\(\) is only available in on_http_response/);
  });
});
