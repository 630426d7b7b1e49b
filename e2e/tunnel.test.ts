import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startAgent, startEdge, type AgentProcess, type EdgeProcess } from "./harness/cluster.js";
import { send } from "./harness/http-client.js";
import { stopAll } from "./harness/processes.js";
import { startUpstream, type Upstream } from "./harness/upstream.js";

let upstream: Upstream;
let edge: EdgeProcess;
let agent: AgentProcess;

beforeAll(async () => {
  upstream = await startUpstream();
  edge = await startEdge();
  agent = await startAgent(edge, upstream.target, ["--url", "http://app.e2e.localhost"]);
});

afterAll(async () => {
  await stopAll();
  await upstream.close();
});

describe("HTTP through the tunnel", () => {
  it("prints exactly one Forwarding line on stdout", () => {
    // The URL as a client types it: the edge's port included.
    expect(agent.proc.stdout).toEqual([`Forwarding http://app.e2e.localhost:${edge.http.split(":").pop()} -> http://${upstream.target}`]);
  });

  it("proxies a GET", async () => {
    const reply = await send({ base: edge.httpUrl, host: agent.host, path: "/hello" });
    expect(reply.status).toBe(200);
    expect(reply.body).toBe("hello from upstream\n");
    expect(reply.headers["onramp-error-code"]).toBeUndefined();
  });

  it("passes response header bytes above 0x7f through unchanged", async () => {
    const reply = await send({ base: edge.httpUrl, host: agent.host, path: "/obs-text" });
    expect(reply.status).toBe(200);
    // Node's client reads header bytes as latin1: é is 0xe9 and ÿ 0xff on the wire, as the upstream sent them.
    expect(reply.headers["x-obs-text"]).toBe("caf\u00e9 \u00ff");
  });

  it("proxies a POST with its body, the original Host and X-Forwarded headers", async () => {
    const reply = await send({
      base: edge.httpUrl,
      host: agent.host,
      path: "/echo?x=1",
      method: "POST",
      headers: { "content-type": "text/plain", "x-forwarded-for": "10.9.8.7", "X-Mixed-Case": "kept" },
      body: "ping",
    });
    const echo = JSON.parse(reply.body);
    expect(echo.method).toBe("POST");
    expect(echo.path).toBe("/echo?x=1");
    expect(echo.body).toBe("ping");
    expect(echo.headers.host).toBe(agent.host); // as the client sent it, port included
    expect(agent.host).toMatch(/^app\.e2e\.localhost:\d+$/);
    expect(echo.headers["x-forwarded-for"]).toBe("10.9.8.7, 127.0.0.1");
    expect(echo.headers["x-forwarded-proto"]).toBe("http");
    expect(echo.headers["x-forwarded-host"]).toBe(agent.host);
    expect(echo.rawHeaders).toContain("X-Mixed-Case");
  });

  it("streams a chunked request body of unknown length", async () => {
    const { Readable } = await import("node:stream");
    const body = Readable.from((async function* () {
      for (let i = 0; i < 50; i++) yield Buffer.alloc(10_000, 1);
    })());
    const reply = await send({ base: edge.httpUrl, host: agent.host, path: "/sink", method: "POST", body });
    expect(JSON.parse(reply.body)).toEqual({ received: 500_000 });
  });

  it("passes chunked responses and their trailers", async () => {
    const trailers = await new Promise<{ body: string; trailers: NodeJS.Dict<string> }>((resolve, reject) => {
      const url = new URL(edge.httpUrl);
      const req = httpRequest({ hostname: url.hostname, port: url.port, path: "/chunked", headers: { host: agent.host, te: "trailers" } }, (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c));
        res.on("end", () => resolve({ body, trailers: res.trailers }));
      });
      req.on("error", reject);
      req.end();
    });
    expect(trailers.body).toBe("one,two,three");
    expect(trailers.trailers["x-checksum"]).toBe("abc123");
  });

  it("delivers server-sent events as they happen, not buffered", async () => {
    const url = new URL(edge.httpUrl);
    const arrivals: number[] = [];
    const events: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest({ hostname: url.hostname, port: url.port, path: "/sse", headers: { host: agent.host } }, (res) => {
        expect(res.headers["content-type"]).toBe("text/event-stream");
        res.on("data", (c: Buffer) => {
          arrivals.push(Date.now());
          events.push(...c.toString().split("\n\n").filter(Boolean));
        });
        res.on("end", () => resolve());
      });
      req.on("error", reject);
      req.end();
    });
    expect(events).toEqual(["data: event 1", "data: event 2", "data: event 3"]);
    // Three separate deliveries: each event crossed the tunnel on its own.
    expect(arrivals.length).toBe(3);
  });

  it("echoes WebSocket messages, text and binary", async () => {
    const ws = new WebSocket(`ws://${edge.http}/ws`, { headers: { host: agent.host } });
    await new Promise((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    const received: Array<string | Buffer> = [];
    const done = new Promise<void>((resolve) =>
      ws.on("message", (data, binary) => {
        received.push(binary ? (data as Buffer) : data.toString());
        if (received.length === 2) resolve();
      }),
    );
    ws.send("hello over onramp");
    ws.send(Buffer.from([1, 2, 3, 250]));
    await done;
    ws.close();
    expect(received[0]).toBe("hello over onramp");
    expect([...(received[1] as Buffer)]).toEqual([1, 2, 3, 250]);
  });

  it("answers Expect: 100-continue before the body is sent", async () => {
    const url = new URL(edge.httpUrl);
    const result = await new Promise<{ continued: boolean; body: string }>((resolve, reject) => {
      let continued = false;
      const req = httpRequest({
        hostname: url.hostname,
        port: url.port,
        path: "/echo",
        method: "PUT",
        headers: { host: agent.host, expect: "100-continue", "content-length": 5 },
      });
      req.on("continue", () => {
        continued = true;
        req.end("hello");
      });
      req.on("response", (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c));
        res.on("end", () => resolve({ continued, body }));
      });
      req.on("error", reject);
    });
    expect(result.continued).toBe(true);
    expect(JSON.parse(result.body).body).toBe("hello");
  });

  it("serves many requests on one keep-alive connection", async () => {
    const url = new URL(edge.httpUrl);
    const socket = connect(Number(url.port), url.hostname);
    let raw = "";
    socket.on("data", (c) => (raw += c));
    for (let i = 0; i < 3; i++) socket.write(`GET /hello HTTP/1.1\r\nHost: ${agent.host}\r\n\r\n`);
    await new Promise<void>((resolve) => {
      const check = () => ((raw.match(/hello from upstream/g) ?? []).length === 3 ? resolve() : setTimeout(check, 10));
      check();
    });
    socket.destroy();
    expect(raw.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(3);
  });

  it("serves 200 concurrent requests", async () => {
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) => send({ base: edge.httpUrl, host: agent.host, path: `/echo?i=${i}`, method: "POST", body: `body-${i}` })),
    );
    replies.forEach((reply, i) => {
      expect(reply.status).toBe(200);
      expect(JSON.parse(reply.body).body).toBe(`body-${i}`);
    });
  });

  it("lists the endpoint on the admin API and exports metrics", async () => {
    const endpoints = (await fetch(`http://${edge.admin}/api/endpoints`).then((r) => r.json())) as { endpoints: Array<Record<string, unknown>> };
    expect(endpoints.endpoints).toEqual([
      expect.objectContaining({ url: "http://app.e2e.localhost", pooling_enabled: false, members: [expect.objectContaining({ upstream: `http://${upstream.target}` })] }),
    ]);
    const health = await fetch(`http://${edge.admin}/healthz`);
    expect(health.status).toBe(200);
    const metrics = await fetch(`http://${edge.admin}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/onramp_edge_http_requests_total\{endpoint="http:\/\/app\.e2e\.localhost",code="200",error_code=""\} \d+/);
    // The agent holds a session with every worker of the edge (`--workers`, by default one per core).
    expect(metrics).toMatch(new RegExp(`onramp_edge_agent_sessions ${edge.workers}\n`));
  });
});
