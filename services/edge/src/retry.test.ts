import { ErrorCode } from "@onramp/errors";
import { decodeRequestHead, encodeResponseHead } from "@onramp/mux";
import { createEdgeMetrics, silentLogger } from "@onramp/telemetry";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { parseEndpointUrl } from "./endpoint-url.js";
import { answerOk, fakeAgentConnection, type FakeAgentBehaviour } from "./fake-agent.js";
import { RequestTelemetry } from "./request-telemetry.js";
import { HttpProxy } from "./http-proxy.js";
import { RetryBudget } from "./retry-policy.js";
import { RoutingTable, type Member } from "./routing-table.js";

const closers: Array<() => void> = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

const resetWith = (code: ErrorCode): FakeAgentBehaviour => (stream) => stream.reset(code, "gone");
const answer500: FakeAgentBehaviour = (stream, head) => {
  const req = decodeRequestHead(head);
  stream.sendHead(encodeResponseHead({ status: 500, statusText: "Internal Server Error", headers: ["x-bind", req.bindId], body: Buffer.from("boom") }), true);
};

/** An edge's proxy over a pool of fake agents at http://pool.test, behind a real HTTP listener. */
async function proxyOver(...behaviours: FakeAgentBehaviour[]): Promise<{ base: string; metrics: ReturnType<typeof createEdgeMetrics> }> {
  return proxyWith({}, ...behaviours);
}

async function proxyWith(options: { attemptsHeader?: boolean }, ...behaviours: FakeAgentBehaviour[]): Promise<{ base: string; metrics: ReturnType<typeof createEdgeMetrics> }> {
  const table = new RoutingTable("r");
  const url = parseEndpointUrl("http://pool.test");
  for (const [i, behaviour] of behaviours.entries()) {
    const agent = await fakeAgentConnection(behaviour);
    closers.push(agent.close);
    const member: Member = { id: `m${i}`, bindId: `b${i}`, edge: "e", region: "r", agentId: `a${i}`, sessionId: `s${i}`, upstream: "", local: true, policy: undefined, opener: () => agent.connection };
    table.addMember(url, true, member);
  }
  const metrics = createEdgeMetrics();
  const telemetry = new RequestTelemetry(metrics, silentLogger(), undefined, "r", { accessLog: false });
  const proxy = new HttpProxy(table, { maxRequestBodyBytes: 1 << 20, inlineBodyBytes: 16 * 1024, ...options }, telemetry, silentLogger());
  const server: Server = createServer((req, res) => proxy.handle(req, res, false));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  closers.push(() => server.close());
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, metrics };
}

function send(base: string, method: string, body?: string): Promise<{ status: number; code: string | undefined; bind: string | undefined; attempts: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/x`, { method, headers: { host: "pool.test" }, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode!, code: res.headers["onramp-error-code"] as string | undefined, bind: res.headers["x-bind"] as string | undefined, attempts: res.headers["onramp-attempts"] as string | undefined }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("retries on another pool member", () => {
  it("answers every GET when a member's connection dies under its requests", async () => {
    const { base, metrics } = await proxyOver(resetWith(ErrorCode.AgentDisconnected), answerOk);
    for (let i = 0; i < 10; i++) expect(await send(base, "GET")).toMatchObject({ status: 200, bind: "b1" });
    const retried = (await metrics.retries.get()).values.find((v) => v.labels.result === "retried");
    expect(retried?.value).toBeGreaterThan(0);
  });

  it("never replays a POST the upstream may have seen, but does one that never reached an agent", async () => {
    const dying = await proxyOver(resetWith(ErrorCode.AgentDisconnected), answerOk);
    const answers = await Promise.all(Array.from({ length: 10 }, () => send(dying.base, "POST", "payload")));
    expect(answers.filter((a) => a.status === 502).every((a) => a.code === "ERR_ONRAMP_AGENT_DISCONNECTED")).toBe(true);
    expect(answers.some((a) => a.status === 502)).toBe(true);

    const gone = await proxyOver(resetWith(ErrorCode.EndpointOffline), answerOk);
    for (let i = 0; i < 10; i++) expect(await send(gone.base, "POST", "payload")).toMatchObject({ status: 200, bind: "b1" });
  });

  it("says how many members a request was sent to when the attempts header is on", async () => {
    const on = await proxyWith({ attemptsHeader: true }, resetWith(ErrorCode.EndpointOffline), answerOk);
    const answers = [];
    for (let i = 0; i < 6; i++) answers.push(await send(on.base, "GET"));
    expect(answers.every((a) => a.status === 200 && (a.attempts === "1" || a.attempts === "2"))).toBe(true);
    expect(answers.some((a) => a.attempts === "2")).toBe(true);
    const off = await proxyOver(resetWith(ErrorCode.EndpointOffline), answerOk);
    expect((await send(off.base, "GET")).attempts).toBeUndefined();
    const alone = await proxyWith({ attemptsHeader: true }, resetWith(ErrorCode.AgentDisconnected));
    expect(await send(alone.base, "GET")).toMatchObject({ status: 502, attempts: "1" });
  });

  it("gives up with the last error when no other member is left", async () => {
    const { base } = await proxyOver(resetWith(ErrorCode.AgentDisconnected), resetWith(ErrorCode.EndpointOffline));
    const answer = await send(base, "GET");
    expect(answer.status).toBeGreaterThanOrEqual(502);
    expect(["ERR_ONRAMP_AGENT_DISCONNECTED", "ERR_ONRAMP_ENDPOINT_OFFLINE"]).toContain(answer.code);
  });
});

describe("passive outlier detection", () => {
  it("ejects a member after five 500s in a row and sends everything to the others", async () => {
    const { base, metrics } = await proxyOver(answer500, answerOk);
    const answers = [];
    for (let i = 0; i < 30; i++) answers.push(await send(base, "GET"));
    // The failing member answers its 5 requests (a response head came: nothing to retry), then
    // gets no more while it is ejected (10 s at first).
    expect(answers.filter((a) => a.status === 500)).toHaveLength(5);
    expect(answers.slice(-10).every((a) => a.status === 200 && a.bind === "b1")).toBe(true);
    const ejections = (await metrics.ejections.get()).values.find((v) => v.labels.reason === "5xx");
    expect(ejections?.value).toBe(1);
  });

  it("ejects a member whose upstream refuses connections, retrying its requests meanwhile", async () => {
    const { base, metrics } = await proxyOver(resetWith(ErrorCode.UpstreamRefused), answerOk);
    for (let i = 0; i < 20; i++) expect(await send(base, "POST", "x")).toMatchObject({ status: 200, bind: "b1" });
    const ejections = (await metrics.ejections.get()).values.find((v) => v.labels.reason === "reset");
    expect(ejections?.value).toBe(1);
  });

  it("never ejects a pool's only member: its errors still reach the client", async () => {
    const { base, metrics } = await proxyOver(resetWith(ErrorCode.UpstreamRefused));
    for (let i = 0; i < 8; i++) expect(await send(base, "GET")).toMatchObject({ status: 502, code: "ERR_ONRAMP_UPSTREAM_REFUSED" });
    expect((await metrics.ejections.get()).values).toHaveLength(0);
  });
});

describe("RetryBudget", () => {
  it("allows retries of 20% of the requests of the last 10 s on top of 10 a second", () => {
    let now = 0;
    const budget = new RetryBudget(0.2, 10, 10, () => now);
    const takeAll = () => {
      let n = 0;
      while (budget.take()) n++;
      return n;
    };
    expect(takeAll()).toBe(100); // the floor: 10/s over the 10 s window
    for (let i = 0; i < 500; i++) budget.deposit();
    expect(takeAll()).toBe(100); // 20% of 500
    now = 5_000;
    expect(takeAll()).toBe(0); // still spent: everything is inside the window
    now = 10_500;
    expect(takeAll()).toBe(100); // the requests and retries of second 0 left the window
  });

  it("lets a burst of retries through when a member takes many requests down at once", () => {
    const budget = new RetryBudget();
    for (let i = 0; i < 2_000; i++) budget.deposit(); // 200 req/s for 10 s
    expect(Array.from({ length: 150 }, () => budget.take()).every(Boolean)).toBe(true);
  });
});
