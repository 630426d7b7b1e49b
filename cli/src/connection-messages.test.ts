import type { AgentStatus } from "@onramp/agent";
import { ErrorCode, OnrampError } from "@onramp/errors";
import { describe, expect, it } from "vitest";
import { createStatusDescriber, describeProblem } from "./connection-messages.js";

type Disconnected = Extract<AgentStatus, { kind: "disconnected" }>;
const EDGE = "127.0.0.1:4443";

function down(problem: Disconnected["problem"], reason: string, retryInMs = 6_000, edge = EDGE): Disconnected {
  return { kind: "disconnected", edge, problem, reason, retryInMs, error: new OnrampError(ErrorCode.AgentDisconnected, "details for the log") };
}
const up = (edge = EDGE): AgentStatus => ({ kind: "connected", edge, sessionId: "sess_1", region: "local" });

describe("describeProblem", () => {
  it.each([
    [down("refused", "connection refused"), "cannot reach edge 127.0.0.1:4443 (connection refused) — is `onramp edge` running there? retrying in 6 s"],
    [down("dns", "host name not found", 1_500), "cannot reach edge 127.0.0.1:4443 (host name not found) — is the host name right? retrying in 1.5 s"],
    [down("timeout", "no answer within 10 s"), "cannot reach edge 127.0.0.1:4443 (no answer within 10 s) — is a firewall in the way, or the edge overloaded? retrying in 6 s"],
    [down("unreachable", "host unreachable", 250), "cannot reach edge 127.0.0.1:4443 (host unreachable) — is the address right, and the network up? retrying in 250 ms"],
    [down("protocol", "not a gRPC server"), "cannot reach edge 127.0.0.1:4443 (not a gRPC server) — is that the edge's agent port (--grpc-addr, default 4443) rather than its HTTP port? retrying in 6 s"],
    [down("tls", "TLS handshake failed"), "cannot reach edge 127.0.0.1:4443 (TLS handshake failed) — does the edge serve TLS there (it does with --tls-cert), or is something else in the way? retrying in 6 s"],
    [down("lost", "the connection dropped", 180), "lost the session with edge 127.0.0.1:4443 (the connection dropped); reconnecting in 180 ms"],
    [down("draining", "edge shutting down", 300), "edge 127.0.0.1:4443 is going away (edge shutting down); reconnecting in 300 ms"],
    [down("edge-error", "registry unavailable"), "edge 127.0.0.1:4443 refused the session (registry unavailable); retrying in 6 s"],
  ])("%#: %s", (status, line) => expect(describeProblem(status)).toBe(line));

  it("counts repeated failures", () => {
    expect(describeProblem(down("refused", "connection refused", 12_000), 8)).toBe(
      "still cannot reach edge 127.0.0.1:4443 after 8 attempts (connection refused) — is `onramp edge` running there? retrying in 12 s",
    );
    expect(describeProblem(down("edge-error", "registry unavailable"), 4)).toBe("edge 127.0.0.1:4443 refused the session (registry unavailable) after 4 attempts; retrying in 6 s");
  });
});

describe("createStatusDescriber", () => {
  it("says the first failure, then the 4th, 8th, 16th, …, 64th, then every 64th; one line at most per status", () => {
    const describeStatus = createStatusDescriber();
    const printed: number[] = [];
    for (let attempt = 1; attempt <= 200; attempt++) {
      const line = describeStatus(down("refused", "connection refused"));
      if (line !== undefined) {
        printed.push(attempt);
        expect(line.split("\n")).toHaveLength(1);
        expect(line).not.toMatch(/No connection established/);
      }
    }
    expect(printed).toEqual([1, 4, 8, 16, 32, 64, 128, 192]);
  });

  it("says a changed reason at once, and counts from there", () => {
    const describeStatus = createStatusDescriber();
    expect(describeStatus(down("refused", "connection refused"))).toMatch(/^onramp: cannot reach edge/);
    expect(describeStatus(down("refused", "connection refused"))).toBeUndefined();
    expect(describeStatus(down("timeout", "no answer within 10 s"))).toBe(
      "onramp: cannot reach edge 127.0.0.1:4443 (no answer within 10 s) — is a firewall in the way, or the edge overloaded? retrying in 6 s",
    );
    expect(describeStatus(down("refused", "connection refused"))).toMatch(/^onramp: cannot reach edge/);
  });

  it("after a problem: 'connected' the first time, 'reconnected' once a session had been up; nothing when all went well", () => {
    const describeStatus = createStatusDescriber();
    describeStatus(down("refused", "connection refused"));
    expect(describeStatus(up())).toBe("onramp: connected to edge 127.0.0.1:4443");
    expect(describeStatus(down("lost", "the connection dropped", 200))).toBe("onramp: lost the session with edge 127.0.0.1:4443 (the connection dropped); reconnecting in 200 ms");
    expect(describeStatus(down("refused", "connection refused", 400))).toMatch(/^onramp: cannot reach edge 127\.0\.0\.1:4443 \(connection refused\)/);
    expect(describeStatus(up())).toBe("onramp: reconnected to edge 127.0.0.1:4443");
    // A reconnect resets the count: the next failure is said again.
    expect(describeStatus(down("refused", "connection refused"))).toMatch(/^onramp: cannot reach/);

    const quiet = createStatusDescriber();
    expect(quiet(up())).toBeUndefined();
    expect(quiet(up("127.0.0.1:5555"))).toBeUndefined();
  });

  it("keeps each edge's count apart, and ignores other statuses", () => {
    const describeStatus = createStatusDescriber();
    expect(describeStatus(down("refused", "connection refused", 6_000, "a:1"))).toMatch(/edge a:1/);
    expect(describeStatus(down("refused", "connection refused", 6_000, "b:2"))).toMatch(/edge b:2/);
    expect(describeStatus({ kind: "bound", bindId: "b", url: "http://x", edge: "a:1" })).toBeUndefined();
    expect(describeStatus({ kind: "health", bindId: "b", upstream: "http://localhost:3000", healthy: false, detail: "refused" })).toBeUndefined();
  });
});
