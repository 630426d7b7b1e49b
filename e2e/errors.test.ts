import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAgent, startEdge, TOKEN, type AgentProcess, type EdgeProcess } from "./harness/cluster.js";
import { send } from "./harness/http-client.js";
import { startOnramp, stopAll } from "./harness/processes.js";
import { startUpstream, type Upstream } from "./harness/upstream.js";

let upstream: Upstream;
let edge: EdgeProcess;
let agent: AgentProcess;

beforeAll(async () => {
  upstream = await startUpstream();
  edge = await startEdge(["--max-request-body", "1MiB", "--max-header-size", "4KiB"]);
  agent = await startAgent(edge, upstream.target, ["--url", "http://app.e2e.localhost", "--upstream-timeout", "300ms"]);
});

afterAll(async () => {
  await stopAll();
  await upstream.close();
});

/** Sends raw bytes and returns the raw answer (for requests Node's client would refuse to send). */
async function raw(bytes: string): Promise<string> {
  const url = new URL(edge.httpUrl);
  const socket = connect(Number(url.port), url.hostname);
  let answer = "";
  socket.on("data", (c) => (answer += c));
  socket.write(bytes);
  await new Promise((resolve) => socket.on("close", resolve));
  return answer;
}

describe("errors a user can act on", () => {
  it("404 with ENDPOINT_NOT_FOUND for an unknown host", async () => {
    const reply = await send({ base: edge.httpUrl, host: "nobody.e2e.localhost", path: "/" });
    expect(reply.status).toBe(404);
    expect(reply.headers["onramp-error-code"]).toBe("ERR_ONRAMP_ENDPOINT_NOT_FOUND");
    expect(reply.body).toContain("no endpoint is bound for nobody.e2e.localhost");
  });

  it("502 with UPSTREAM_REFUSED when nothing listens upstream", async () => {
    const dead = await startUpstream();
    const target = dead.target;
    await dead.close();
    const down = await startAgent(edge, target, ["--url", "http://down.e2e.localhost"], "agent-down");
    const reply = await send({ base: edge.httpUrl, host: down.host, path: "/" });
    expect(reply.status).toBe(502);
    expect(reply.headers["onramp-error-code"]).toBe("ERR_ONRAMP_UPSTREAM_REFUSED");
    expect(reply.body).toContain("refused the connection");
    await down.proc.stop();
  });

  it("504 with UPSTREAM_TIMEOUT when the upstream is too slow", async () => {
    const reply = await send({ base: edge.httpUrl, host: agent.host, path: "/slow/800" }); // well inside the old timer's ~1 s: the 300 ms timeout must fire on time
    expect(reply.status).toBe(504);
    expect(reply.headers["onramp-error-code"]).toBe("ERR_ONRAMP_UPSTREAM_TIMEOUT");
  });

  it("413 with BODY_TOO_LARGE for a declared body over the limit, without reading it", async () => {
    const reply = await send({
      base: edge.httpUrl,
      host: agent.host,
      path: "/sink",
      method: "POST",
      headers: { "content-length": String(2 * 1024 * 1024), expect: "100-continue" },
    });
    expect(reply.status).toBe(413);
    expect(reply.headers["onramp-error-code"]).toBe("ERR_ONRAMP_BODY_TOO_LARGE");
  });

  it("413 with BODY_TOO_LARGE for a chunked body that grows over the limit", async () => {
    const { Readable } = await import("node:stream");
    const body = Readable.from((async function* () {
      for (let i = 0; i < 40; i++) yield Buffer.alloc(64 * 1024);
    })());
    const reply = await send({ base: edge.httpUrl, host: agent.host, path: "/sink", method: "POST", body }).catch((err: Error) => err);
    // The edge answers 413 as soon as the limit is crossed and closes; the client sees the
    // answer or, if it was still writing, a reset. The edge's metrics say which it sent.
    if (reply instanceof Error) expect((reply as NodeJS.ErrnoException).code).toMatch(/ECONNRESET|EPIPE/);
    else {
      expect(reply.status).toBe(413);
      expect(reply.headers["onramp-error-code"]).toBe("ERR_ONRAMP_BODY_TOO_LARGE");
    }
    const metrics = await fetch(`http://${edge.admin}/metrics`).then((r) => r.text());
    // Both 413s of this file (declared and chunked), counted for the endpoint, the code without its prefix.
    expect(metrics).toMatch(/onramp_edge_http_requests_total\{endpoint="http:\/\/[^"]+",code="413",error_code="BODY_TOO_LARGE"\} 2/);
  });

  it("431 with HEADERS_TOO_LARGE for oversized headers", async () => {
    const answer = await raw(`GET / HTTP/1.1\r\nHost: ${agent.host}\r\nX-Big: ${"a".repeat(8000)}\r\n\r\n`);
    expect(answer).toMatch(/^HTTP\/1\.1 431 /);
    expect(answer).toContain("Onramp-Error-Code: ERR_ONRAMP_HEADERS_TOO_LARGE");
  });

  it("400 with MALFORMED_REQUEST for a request that is not HTTP", async () => {
    const answer = await raw("HELLO THERE\r\n\r\n");
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toContain("Onramp-Error-Code: ERR_ONRAMP_MALFORMED_REQUEST");
  });

  it("400 with MALFORMED_REQUEST for a request without Host", async () => {
    const answer = await raw("GET / HTTP/1.0\r\n\r\n");
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(answer).toContain("ERR_ONRAMP_MALFORMED_REQUEST");
  });

  it("refuses a second bind of the same URL without pooling; the agent exits non-zero and says what to do", async () => {
    const second = startOnramp("agent-conflict", ["http", upstream.target, "--edge", edge.agent, "--authtoken", TOKEN, "--url", "http://app.e2e.localhost"]);
    const { code } = await second.exited;
    expect(code).toBe(1);
    expect(second.stdout).toEqual([]);
    expect(second.stderr.join("\n")).toMatch(/already bound by another agent without pooling.*--pooling-enabled/s);
    // The first agent still serves the URL.
    expect((await send({ base: edge.httpUrl, host: agent.host, path: "/hello" })).status).toBe(200);
  });

  it("refuses a wrong authtoken; the agent exits non-zero", async () => {
    const intruder = startOnramp("agent-bad-token", ["http", upstream.target, "--edge", edge.agent, "--authtoken", "wrong"]);
    const { code } = await intruder.exited;
    expect(code).toBe(1);
    expect(intruder.stderr.join("\n")).toContain("authtoken rejected by the edge");
  });

  it("tells an agent with no authtoken how to give one, rather than that it was rejected", async () => {
    const bare = startOnramp("agent-no-token", ["http", upstream.target, "--edge", edge.agent], { ONRAMP_AUTHTOKEN: "" });
    expect((await bare.exited).code).toBe(1);
    expect(bare.stderr.join("\n")).toMatch(/no authtoken given.*--authtoken.*onramp config add-authtoken/s);
  });

  it("refuses to start an edge on a port in use, naming the address", async () => {
    const clash = startOnramp("edge-clash", ["edge", "--http-addr", edge.http, "--grpc-addr", "127.0.0.1:0", "--admin-addr", "", "--authtoken", "x"]);
    const { code } = await clash.exited;
    expect(code).toBe(1);
    expect(clash.stderr.join("\n")).toContain(`cannot listen for http on ${edge.http}: the address is already in use`);
  });

  it("refuses to start an edge without an authtoken", async () => {
    const open = startOnramp("edge-open", ["edge", "--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--admin-addr", ""]);
    const { code } = await open.exited;
    expect(code).toBe(1);
    expect(open.stderr.join("\n")).toContain("no authtoken configured");
  });
});
