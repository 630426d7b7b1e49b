import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { connect as http2Connect, type IncomingHttpHeaders } from "node:http2";
import { connect as tlsConnect } from "node:tls";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TestCa, type CertificatePair } from "./harness/certificates.js";
import { startAgent, startEdge, type EdgeProcess } from "./harness/cluster.js";
import { stopAll } from "./harness/processes.js";
import { startUpstream, type Upstream } from "./harness/upstream.js";
import { within } from "./harness/within.js";
import WebSocket from "ws";

/** What curl saw of one transfer. */
interface CurlReply {
  /** `%{http_version}`: "2", "1.1". */
  version: string;
  status: number;
  /** Response header fields, names lowercased (the last head, after any 100 Continue). */
  headers: Record<string, string>;
  /** Header lines as curl printed them, status line and trailers included. */
  headLines: string[];
  body: string;
  exitCode: number;
  stderr: string;
}

let ca: TestCa;
let cert: CertificatePair;
let upstream: Upstream;
let edge: EdgeProcess;
let port: number;
let scratch: string;
let transfers = 0;

const HOST = "app.e2e.localhost";

/**
 * One curl run against the edge's HTTPS listener for `host` (resolved to 127.0.0.1, verified
 * against the test CA). `args` go first: --http2, --http1.1, -d, -X ….
 */
function curl(args: string[], options: { path?: string; host?: string; port?: number; stdin?: Buffer } = {}): Promise<CurlReply> {
  const host = options.host ?? HOST;
  const to = options.port ?? port;
  const n = ++transfers;
  const headFile = join(scratch, `head-${n}`);
  const bodyFile = join(scratch, `body-${n}`);
  const argv = [
    "-sS",
    "--max-time", "20",
    "--cacert", ca.cert,
    "--resolve", `${host}:${to}:127.0.0.1`,
    "-D", headFile,
    "-o", bodyFile,
    "-w", "%{http_version} %{http_code}",
    ...args,
    `https://${host}:${to}${options.path ?? "/echo"}`,
  ];
  return within(25_000, `curl ${args.join(" ")}`, new Promise<CurlReply>((resolve, reject) => {
    const child = execFile("curl", argv, { encoding: "utf8" }, (err, stdout, stderr) => {
      const exitCode = err ? (typeof err.code === "number" ? err.code : -1) : 0;
      if (err && typeof err.code !== "number") return reject(err);
      const [version = "", code = "0"] = stdout.trim().split(" ");
      let head = "";
      try {
        head = readFileSync(headFile, "utf8");
      } catch {
        // no head: curl failed before any response
      }
      const headLines = head.split("\r\n").filter(Boolean);
      const last = Math.max(0, headLines.findLastIndex((l) => l.startsWith("HTTP/")));
      const headers: Record<string, string> = {};
      for (const line of headLines.slice(last + 1)) {
        const colon = line.indexOf(":");
        if (colon > 0) headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
      }
      let body = "";
      try {
        body = readFileSync(bodyFile, "utf8");
      } catch {
        // no body
      }
      resolve({ version, status: Number(code), headers, headLines, body, exitCode, stderr });
    });
    if (options.stdin) child.stdin!.end(options.stdin);
    else child.stdin!.end();
  }));
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "onramp-e2e-h2-"));
  ca = new TestCa();
  cert = ca.issue("edge", ["*.e2e.localhost", "localhost", "127.0.0.1"]);
  upstream = await startUpstream();
  edge = await startEdge(["--https-addr", "127.0.0.1:0", "--tls-cert", cert.cert, "--tls-key", cert.key], "edge-h2");
  port = Number(edge.https!.split(":").pop());
  // An edge with a certificate serves TLS on its agent port too: the agent needs --edge-ca.
  await startAgent(edge, upstream.target, ["--url", `https://${HOST}`, "--edge-ca", ca.cert], "agent-h2");
});

afterAll(async () => {
  await stopAll();
  await upstream?.close();
  ca?.remove();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe("HTTP/2 on the HTTPS listener", () => {
  it("negotiates h2 and proxies a GET, with Host from :authority and no pseudo-headers upstream", async () => {
    const reply = await curl(["--http2"]);
    expect(reply.exitCode).toBe(0);
    expect(reply.version).toBe("2");
    expect(reply.status).toBe(200);
    expect(reply.headLines[0]?.trim()).toBe("HTTP/2 200");
    const echo = JSON.parse(reply.body) as { method: string; path: string; headers: Record<string, string>; rawHeaders: string[] };
    expect(echo.method).toBe("GET");
    expect(echo.path).toBe("/echo");
    expect(echo.headers.host).toBe(`${HOST}:${port}`);
    expect(echo.headers["x-forwarded-proto"]).toBe("https");
    expect(echo.headers["x-forwarded-host"]).toBe(`${HOST}:${port}`);
    expect(echo.rawHeaders.filter((_, i) => i % 2 === 0).some((name) => name.startsWith(":"))).toBe(false);
  });

  it("sends no connection-specific header fields in HTTP/2 responses", async () => {
    const reply = await curl(["--http2"], { path: "/hello" });
    expect(reply.status).toBe(200);
    expect(reply.body).toBe("hello from upstream\n");
    for (const name of ["connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection"]) expect(reply.headers[name]).toBeUndefined();
  });

  it("answers an unknown host with 404 and Onramp-Error-Code over h2", async () => {
    const reply = await curl(["--http2"], { host: "nobody.e2e.localhost", path: "/" });
    expect(reply.version).toBe("2");
    expect(reply.status).toBe(404);
    expect(reply.headers["onramp-error-code"]).toMatch(/^ERR_ONRAMP_/);
    expect(reply.body).toContain(reply.headers["onramp-error-code"]!);
  });

  it("refuses a body sent to an unknown host and ends the stream cleanly, the connection still usable", async () => {
    const reply = await curl(["--http2", "-X", "POST", "--data-binary", "@-"], { host: "nobody.e2e.localhost", path: "/", stdin: Buffer.alloc(1024 * 1024, 0x62) });
    expect(reply.stderr).toBe("");
    expect(reply.exitCode).toBe(0);
    expect(reply.status).toBe(404);
    expect(reply.headers["onramp-error-code"]).toMatch(/^ERR_ONRAMP_/);
  });

  it("proxies a POST with a small body (inline) and a large one (streamed)", async () => {
    const small = await curl(["--http2", "-d", "hello=h2", "-H", "content-type: application/x-www-form-urlencoded"]);
    expect(small.version).toBe("2");
    expect(small.status).toBe(200);
    const echo = JSON.parse(small.body) as { method: string; body: string; headers: Record<string, string> };
    expect(echo.method).toBe("POST");
    expect(echo.body).toBe("hello=h2");
    expect(echo.headers["content-length"]).toBe("8");
    const large = await curl(["--http2", "-X", "POST", "--data-binary", "@-"], { path: "/sink", stdin: Buffer.alloc(3 * 1024 * 1024 + 7, 0x61) });
    expect(large.version).toBe("2");
    expect(large.status).toBe(200);
    expect(JSON.parse(large.body)).toEqual({ received: 3 * 1024 * 1024 + 7 });
    const expecting = await curl(["--http2", "-X", "POST", "-H", "expect: 100-continue", "--data-binary", "@-"], { path: "/sink", stdin: Buffer.alloc(100_000, 0x61) });
    expect(expecting.status).toBe(200);
    expect(JSON.parse(expecting.body)).toEqual({ received: 100_000 });
  });

  it("streams a body of unknown length (no Content-Length over h2) to the upstream", async () => {
    // -T - uploads stdin as it comes: over HTTP/2 without Content-Length (no chunked encoding there).
    const reply = await curl(["--http2", "-X", "POST", "-T", "-"], { path: "/sink", stdin: Buffer.alloc(200_000, 0x63) });
    expect(reply.version).toBe("2");
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toEqual({ received: 200_000 });
  });

  it("streams responses: a large body, a chunked one with its trailer, server-sent events", async () => {
    const bytes = await curl(["--http2"], { path: `/bytes/${1024 * 1024}` });
    expect(bytes.status).toBe(200);
    expect(bytes.body.length).toBe(1024 * 1024);
    const chunked = await curl(["--http2"], { path: "/chunked" });
    expect(chunked.status).toBe(200);
    expect(chunked.body).toBe("one,two,three");
    // curl prints HTTP/2 trailers after the head, in the header dump.
    expect(chunked.headLines).toContain("x-checksum: abc123");
    const sse = await curl(["--http2"], { path: "/sse" });
    expect(sse.body).toBe("data: event 1\n\ndata: event 2\n\ndata: event 3\n\n");
  });

  it("multiplexes requests on one connection", async () => {
    const url = `https://${HOST}:${port}/slow/300`;
    const lines = await within(25_000, "curl --parallel", new Promise<string[]>((resolve, reject) => {
      execFile(
        "curl",
        ["-sS", "--max-time", "20", "--cacert", ca.cert, "--resolve", `${HOST}:${port}:127.0.0.1`, "--http2", "--parallel", "-o", "/dev/null", "-o", "/dev/null", "-o", "/dev/null", "-w", "%{http_version} %{http_code} %{num_connects}\\n", url, url, url],
        { encoding: "utf8" },
        (err, stdout) => (err ? reject(err) : resolve(stdout.trim().split("\n").sort())),
      );
    }));
    // One transfer made the connection; the other two rode on it as further streams.
    expect(lines).toEqual(["2 200 0", "2 200 0", "2 200 1"]);
  });

  it("still serves HTTP/1.1 to clients that ask for it", async () => {
    const reply = await curl(["--http1.1"]);
    expect(reply.version).toBe("1.1");
    expect(reply.status).toBe(200);
    const echo = JSON.parse(reply.body) as { headers: Record<string, string> };
    expect(echo.headers.host).toBe(`${HOST}:${port}`);
    const missing = await curl(["--http1.1"], { host: "nobody.e2e.localhost", path: "/" });
    expect(missing.version).toBe("1.1");
    expect(missing.status).toBe(404);
    expect(missing.headers["onramp-error-code"]).toMatch(/^ERR_ONRAMP_/);
  });

  it("logged no Node warning (status texts and connection headers never reach the HTTP/2 response)", () => {
    expect(edge.proc.stderr.join("\n")).not.toMatch(/Warning/);
  });
});

describe("shutdown with HTTP/2 connections open", () => {
  it("lets an in-flight HTTP/2 request finish, then exits", async () => {
    const draining = await startEdge(["--https-addr", "127.0.0.1:0", "--tls-cert", cert.cert, "--tls-key", cert.key], "edge-h2-drain");
    const drainingPort = Number(draining.https!.split(":").pop());
    await startAgent(draining, upstream.target, ["--url", `https://${HOST}`, "--edge-ca", ca.cert], "agent-h2-drain");
    const arrived = new Promise<void>((resolve) => upstream.server.once("request", () => resolve()));
    const inFlight = curl(["--http2"], { port: drainingPort, path: "/slow/1000" });
    await within(10_000, "the request to reach the upstream", arrived);
    const stopped = draining.proc.stop();
    const reply = await inFlight;
    expect(reply.version).toBe("2");
    expect(reply.status).toBe(200);
    expect(reply.body).toBe("slept 1000\n");
    expect((await stopped).code).toBe(0);
  });
});

describe("--no-http2", () => {
  it("serves HTTP/1.1 only on the HTTPS listener", async () => {
    const plain = await startEdge(["--https-addr", "127.0.0.1:0", "--tls-cert", cert.cert, "--tls-key", cert.key, "--no-http2"], "edge-no-h2");
    const plainPort = Number(plain.https!.split(":").pop());
    await startAgent(plain, upstream.target, ["--url", `https://${HOST}`, "--edge-ca", ca.cert], "agent-no-h2");
    const reply = await curl(["--http2"], { port: plainPort });
    expect(reply.version).toBe("1.1");
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body).headers.host).toBe(`${HOST}:${plainPort}`);
    await plain.proc.stop();
  });
});

/** Raw HTTP/1.1 over TLS (ALPN http/1.1) to `to`: writes `pieces`, `everyMs` apart, returns what came back until close. */
function http1OverTls(to: number, head: string, pieces: string[] = [], everyMs = 0): Promise<{ status: number; headers: Record<string, string> }> {
  return within(15_000, "an HTTP/1.1 exchange over TLS", new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: "127.0.0.1", port: to, servername: HOST, ca: ca.pem, ALPNProtocols: ["http/1.1"] }, () => {
      socket.write(head);
      let i = 0;
      const timer = setInterval(() => {
        if (i >= pieces.length || socket.destroyed) return clearInterval(timer);
        socket.write(pieces[i++]!);
      }, everyMs);
      socket.once("close", () => clearInterval(timer));
    });
    let text = "";
    socket.setEncoding("utf8");
    socket.on("data", (chunk: string) => (text += chunk));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      const [statusLine = "", ...lines] = text.split("\r\n\r\n")[0]!.split("\r\n");
      if (!statusLine) return reject(new Error("no response"));
      const headers: Record<string, string> = {};
      for (const line of lines) headers[line.slice(0, line.indexOf(":")).toLowerCase()] = line.slice(line.indexOf(":") + 1).trim();
      resolve({ status: Number(statusLine.split(" ")[1]), headers });
    });
  }));
}

describe("limits and timeouts with HTTP/2 on", () => {
  let limited: EdgeProcess;
  let limitedPort: number;

  beforeAll(async () => {
    limited = await startEdge(["--https-addr", "127.0.0.1:0", "--tls-cert", cert.cert, "--tls-key", cert.key, "--header-timeout", "1s", "--body-timeout", "1s", "--max-header-size", "4KiB"], "edge-h2-limits");
    limitedPort = Number(limited.https!.split(":").pop());
    await startAgent(limited, upstream.target, ["--url", `https://${HOST}`, "--edge-ca", ca.cert], "agent-h2-limits");
  });

  it("HTTP/1.1 over TLS keeps --max-header-size: 431 with an Onramp error code", async () => {
    const reply = await http1OverTls(limitedPort, `GET /hello HTTP/1.1\r\nHost: ${HOST}\r\nX-Big: ${"a".repeat(6000)}\r\n\r\n`);
    expect(reply.status).toBe(431);
    expect(reply.headers["onramp-error-code"]).toMatch(/^ERR_ONRAMP_/);
  });

  it("HTTP/1.1 over TLS keeps --header-timeout: 408 with an Onramp error code", async () => {
    const reply = await http1OverTls(limitedPort, `GET /hello HTTP/1.1\r\nHost: ${HOST}\r\n`, Array.from({ length: 20 }, (_, i) => `X-Slow-${i}: 1\r\n`), 300);
    expect(reply.status).toBe(408);
    expect(reply.headers["onramp-error-code"]).toBe("ERR_ONRAMP_REQUEST_TIMEOUT");
  });

  it("HTTP/2 keeps --max-header-size: 431 with an Onramp error code, then the stream reset past the hard limit", async () => {
    const reply = await curl(["--http2", "-H", `x-big: ${"a".repeat(6000)}`], { port: limitedPort, path: "/hello" });
    expect(reply.version).toBe("2");
    expect(reply.status).toBe(431);
    expect(reply.headers["onramp-error-code"]).toBe("ERR_ONRAMP_HEADERS_TOO_LARGE");
    // Far past the limit, once the client has acknowledged the edge's SETTINGS (the second
    // request on a connection), nghttp2 itself refuses the head: the stream is reset.
    const huge = `x-huge: ${"b".repeat(30_000)}`;
    const url = `https://${HOST}:${limitedPort}/hello`;
    const out = await within(25_000, "curl, two requests on one connection", new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(
        "curl",
        ["-sS", "--max-time", "20", "--cacert", ca.cert, "--resolve", `${HOST}:${limitedPort}:127.0.0.1`, "--http2", "-o", "/dev/null", "-w", "%{http_code}\\n", url, "-H", huge, "--next", "--http2", "-o", "/dev/null", "-w", "%{http_code}\\n", "-H", huge, url],
        { encoding: "utf8" },
        (err, stdout) => resolve({ code: err && typeof err.code === "number" ? err.code : 0, stdout }),
      );
    }));
    expect(out.stdout.trim().split("\n")[0]).toBe("431");
    expect(out.code).not.toBe(0);
    // Other requests are not affected.
    expect((await curl(["--http2"], { port: limitedPort, path: "/hello" })).status).toBe(200);
  });

  it("HTTP/2 closes a connection that sends no request within --header-timeout", async () => {
    const session = http2Connect(`https://${HOST}:${limitedPort}`, { ca: ca.pem, host: "127.0.0.1" } as never);
    const started = Date.now();
    await within(8_000, "the edge to close the idle HTTP/2 connection", new Promise((resolve) => session.once("close", resolve)));
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
  });

  it("HTTP/2 keeps --body-timeout: a stalled body gets 408", async () => {
    const session = http2Connect(`https://127.0.0.1:${limitedPort}`, { ca: ca.pem, servername: HOST });
    session.on("error", () => undefined);
    try {
      const stream = session.request({ ":method": "POST", ":path": "/sink", ":authority": HOST, "content-length": "10" }, { endStream: false });
      stream.write("ab");
      const headers = await within(8_000, "the 408", new Promise<IncomingHttpHeaders>((resolve, reject) => {
        stream.once("response", resolve);
        stream.once("error", reject);
      }));
      expect(headers[":status"]).toBe(408);
      expect(headers["onramp-error-code"]).toBe("ERR_ONRAMP_REQUEST_TIMEOUT");
    } finally {
      session.destroy();
    }
  });

  it("WebSockets still upgrade over HTTP/1.1 on the same listener", async () => {
    const ws = new WebSocket(`wss://127.0.0.1:${limitedPort}/ws`, { headers: { host: HOST }, ca: ca.pem });
    await within(8_000, "the WebSocket to open", new Promise((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    }));
    const echoed = within(8_000, "the echo", new Promise<string>((resolve) => ws.once("message", (data) => resolve(data.toString()))));
    ws.send("over wss");
    expect(await echoed).toBe("over wss");
    ws.close();
  });
});
