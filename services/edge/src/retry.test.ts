import { ErrorCode } from "@onramp/errors";
import { createEdgeMetrics, silentLogger } from "@onramp/telemetry";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { parseEndpointUrl } from "./endpoint-url.js";
import { answerOk, fakeAgentConnection, type FakeAgentBehaviour } from "./fake-agent.js";
import { HttpProxy } from "./http-proxy.js";
import { RetryBudget } from "./retry-policy.js";
import { RoutingTable, type Member } from "./routing-table.js";

const closers: Array<() => void> = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

const resetWith = (code: ErrorCode): FakeAgentBehaviour => (stream) => stream.reset(code, "gone");

/** An edge's proxy over a pool of fake agents at http://pool.test, behind a real HTTP listener. */
async function proxyOver(...behaviours: FakeAgentBehaviour[]): Promise<{ base: string; metrics: ReturnType<typeof createEdgeMetrics> }> {
  const table = new RoutingTable("r");
  const url = parseEndpointUrl("http://pool.test");
  for (const [i, behaviour] of behaviours.entries()) {
    const agent = await fakeAgentConnection(behaviour);
    closers.push(agent.close);
    const member: Member = { id: `m${i}`, bindId: `b${i}`, edge: "e", region: "r", agentId: `a${i}`, sessionId: `s${i}`, upstream: "", local: true, policy: undefined, opener: () => agent.connection };
    table.addMember(url, true, member);
  }
  const metrics = createEdgeMetrics();
  const proxy = new HttpProxy(table, { maxRequestBodyBytes: 1 << 20, inlineBodyBytes: 16 * 1024 }, metrics, silentLogger());
  const server: Server = createServer((req, res) => proxy.handle(req, res, false));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  closers.push(() => server.close());
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, metrics };
}

function send(base: string, method: string, body?: string): Promise<{ status: number; code: string | undefined; bind: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/x`, { method, headers: { host: "pool.test" }, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode!, code: res.headers["onramp-error-code"] as string | undefined, bind: res.headers["x-bind"] as string | undefined }));
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

  it("gives up with the last error when no other member is left", async () => {
    const { base } = await proxyOver(resetWith(ErrorCode.AgentDisconnected), resetWith(ErrorCode.EndpointOffline));
    const answer = await send(base, "GET");
    expect(answer.status).toBeGreaterThanOrEqual(502);
    expect(["ERR_ONRAMP_AGENT_DISCONNECTED", "ERR_ONRAMP_ENDPOINT_OFFLINE"]).toContain(answer.code);
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
