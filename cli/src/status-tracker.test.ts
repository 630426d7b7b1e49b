import type { AgentEdge, AgentStatus, ExchangeInfo } from "@onramp/agent";
import { ErrorCode, OnrampError } from "@onramp/errors";
import { describe, expect, it } from "vitest";
import { StatusTracker } from "./status-tracker.js";

function tracker() {
  const clock = { now: 1_700_000_000_000 };
  let changes = 0;
  const t = new StatusTracker({ version: "0.1.0", now: () => clock.now, changed: () => void changes++ });
  return { t, clock, changes: () => changes };
}

const connected = (edge: string, region = "eu"): AgentStatus => ({ kind: "connected", edge, sessionId: "s1", region });
const disconnected = (edge: string, retryInMs: number, reason = "connection refused"): AgentStatus => ({
  kind: "disconnected", edge, retryInMs, reason, problem: "refused", error: new OnrampError(ErrorCode.AgentDisconnected, reason),
});

function info(path: string, startedAt: number): ExchangeInfo {
  return {
    endpointUrl: "https://app.example.com", bindId: "b", edge: "e:1", upstream: "http://localhost:3000", method: "GET", path,
    headers: [], clientAddr: "1.2.3.4:5", upgrade: false, startedAt, inspect: true,
  };
}

describe("StatusTracker", () => {
  it("is connecting before any session, online once one is up, reconnecting once it is lost", () => {
    const { t, clock } = tracker();
    t.onStatus(disconnected("e:1", 2_000));
    expect(t.view()).toMatchObject({ session: "connecting", edges: [{ edge: "e:1", state: "connecting", retryInMs: 2_000, reason: "connection refused" }] });
    t.onStatus(connected("e:1"));
    expect(t.view()).toMatchObject({ session: "online", edges: [{ edge: "e:1", state: "online", region: "eu" }] });
    t.onStatus(disconnected("e:1", 5_000, "the connection dropped"));
    clock.now += 2_000;
    expect(t.view()).toMatchObject({ session: "reconnecting", edges: [{ state: "reconnecting", retryInMs: 3_000, reason: "the connection dropped" }] });
    clock.now += 10_000;
    expect(t.view().edges[0]).toMatchObject({ retryInMs: 0 });
    t.stopping();
    expect(t.view().session).toBe("stopping");
  });

  it("takes the agent's edge list when it has one: extras, latency, and whether each is up", () => {
    const { t } = tracker();
    t.onStatus(connected("a:1"));
    t.onStatus(disconnected("b:1", 1_000));
    const edges: AgentEdge[] = [
      { edge: "a:1", connected: true, region: "eu", rttMs: 12.5, extra: false },
      { edge: "b:1", connected: false, extra: false },
      { edge: "c:1", connected: true, region: "us", rttMs: 80, extra: true },
    ];
    t.watchEdges(() => edges);
    expect(t.view().edges).toEqual([
      { edge: "a:1", state: "online", region: "eu", rttMs: 12.5 },
      { edge: "b:1", state: "connecting", retryInMs: 1_000, reason: "connection refused" },
      { edge: "c:1", state: "online", region: "us", rttMs: 80 },
    ]);
    expect(t.view().session).toBe("online");
  });

  it("counts requests through its observer and keeps them most recent first, with their outcome", () => {
    const { t, clock, changes } = tracker();
    const first = t.observe(info("/first", clock.now));
    const second = t.observe(info("/second", clock.now + 5));
    expect(t.view().connections).toMatchObject({ ttl: 2, opn: 2 });
    first.response?.(200, "OK", []);
    first.end({ status: 200, error: undefined, durationMs: 40, requestBytes: 0, responseBytes: 10 });
    second.end({ status: undefined, error: new OnrampError(ErrorCode.UpstreamRefused, "refused"), durationMs: 2, requestBytes: 0, responseBytes: 0 });
    const v = t.view();
    expect(v.connections).toMatchObject({ ttl: 2, opn: 0, p90: 0.04 });
    expect(v.requests).toEqual([
      { at: clock.now + 5, method: "GET", path: "/second", result: { status: undefined, errorCode: "UPSTREAM_REFUSED", durationMs: 2 } },
      { at: clock.now, method: "GET", path: "/first", result: { status: 200, errorCode: undefined, durationMs: 40 } },
    ]);
    expect(changes()).toBeGreaterThanOrEqual(4);
  });

  it("keeps notices without the 'onramp: ' prefix, most recent first, and skips empty lines", () => {
    const { t } = tracker();
    t.notice("warn", "onramp: cannot reach edge e:1");
    t.notice("info", "  ");
    t.notice("error", "agent: boom");
    expect(t.view().notices.map((n) => [n.level, n.text])).toEqual([
      ["error", "agent: boom"],
      ["warn", "cannot reach edge e:1"],
    ]);
  });

  it("has the forwarding lines in bind order and the inspector's address once given", () => {
    const { t } = tracker();
    t.forwarding("https://a.example.com", "http://localhost:3000");
    t.forwarding("https://b.example.com", "http://localhost:4000");
    t.setInspectorUrl("http://127.0.0.1:4040");
    expect(t.view()).toMatchObject({
      forwarding: [{ url: "https://a.example.com" }, { url: "https://b.example.com" }],
      inspectorUrl: "http://127.0.0.1:4040",
    });
  });
});
