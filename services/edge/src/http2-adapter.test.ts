import { connect, createServer, type Http2Server, type Http2ServerRequest, type Http2ServerResponse, type IncomingHttpHeaders } from "node:http2";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { hasBody } from "./http-proxy.js";
import { http1HeadBytesOf, http1RawHeadersOf, IngressHttp2Request, IngressHttp2Response } from "./http2-adapter.js";

describe("http1HeadBytesOf", () => {
  it("counts each field as an HTTP/1.1 header line", () => {
    expect(http1HeadBytesOf([":method", "GET", ":path", "/", "host", "a.test"])).toBe(2 + (7 + 3 + 4) + (5 + 1 + 4) + (4 + 6 + 4));
  });
});

describe("http1RawHeadersOf", () => {
  it("puts Host (from :authority) first, drops pseudo-headers and joins split cookies", () => {
    const headers: IncomingHttpHeaders = { ":method": "GET", ":path": "/", ":scheme": "https", ":authority": "app.example.com", cookie: "a=1; b=2" };
    const raw = [":method", "GET", ":path", "/", ":scheme", "https", ":authority", "app.example.com", "cookie", "a=1", "accept", "*/*", "cookie", "b=2"];
    expect(http1RawHeadersOf(headers, raw)).toEqual(["host", "app.example.com", "accept", "*/*", "cookie", "a=1; b=2"]);
    expect(headers.host).toBe("app.example.com");
  });

  it("keeps one Host when the client sent it equal to :authority, both when they differ", () => {
    const same = http1RawHeadersOf({ ":authority": "a.test", host: "a.test" }, [":authority", "a.test", "host", "a.test"]);
    expect(same).toEqual(["host", "a.test"]);
    const differ = http1RawHeadersOf({ ":authority": "a.test", host: "b.test" }, [":authority", "a.test", "host", "b.test"]);
    expect(differ).toEqual(["host", "a.test", "host", "b.test"]);
  });

  it("leaves a request without :authority with its own Host, or none", () => {
    expect(http1RawHeadersOf({ host: "c.test" }, [":method", "GET", "host", "c.test"])).toEqual(["host", "c.test"]);
    const none: IncomingHttpHeaders = {};
    expect(http1RawHeadersOf(none, [":method", "GET"])).toEqual([]);
    expect(none.host).toBeUndefined();
  });
});

describe("IngressHttp2Request and IngressHttp2Response on a real HTTP/2 server", () => {
  let server: Http2Server | undefined;

  afterEach(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  /** Serves `handler` over cleartext HTTP/2 with the adapter's classes; one request, its answer. */
  async function exchange(
    handler: (req: IncomingMessage, res: ServerResponse) => void,
    request: { headers?: Record<string, string>; body?: string } = {},
  ): Promise<{ headers: IncomingHttpHeaders; trailers: IncomingHttpHeaders; body: string; rstCode: number }> {
    server = createServer({
      Http2ServerRequest: IngressHttp2Request as unknown as typeof Http2ServerRequest,
      Http2ServerResponse: IngressHttp2Response as unknown as typeof Http2ServerResponse,
    });
    server.on("request", (req, res) => handler(req as unknown as IncomingMessage, res as unknown as ServerResponse));
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
    const client = connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    try {
      return await new Promise((resolve, reject) => {
        const stream = client.request({ ":method": request.body === undefined ? "GET" : "POST", ":path": "/x", ":authority": "app.test:8443", ...request.headers }, { endStream: request.body === undefined });
        if (request.body !== undefined) stream.end(request.body);
        let headers: IncomingHttpHeaders = {};
        let trailers: IncomingHttpHeaders = {};
        let body = "";
        stream.on("response", (h) => (headers = h));
        stream.on("trailers", (t) => (trailers = t));
        stream.setEncoding("utf8");
        stream.on("data", (chunk: string) => (body += chunk));
        stream.on("close", () => resolve({ headers, trailers, body, rstCode: stream.rstCode ?? 0 }));
        stream.on("error", reject);
      });
    } finally {
      client.close();
    }
  }

  it("gives the handler Host from :authority and raw headers without pseudo-headers", async () => {
    let seen: { host: string | undefined; raw: string[]; version: string; body: boolean } | undefined;
    await exchange((req, res) => {
      seen = { host: req.headers.host, raw: req.rawHeaders, version: req.httpVersion, body: hasBody(req) };
      res.end();
    });
    expect(seen).toEqual({ host: "app.test:8443", raw: ["host", "app.test:8443"], version: "2.0", body: false });
  });

  it("sees a body without Content-Length", async () => {
    let body: boolean | undefined;
    let received = "";
    const reply = await exchange(
      (req, res) => {
        body = hasBody(req);
        req.setEncoding("utf8");
        req.on("data", (chunk: string) => (received += chunk));
        req.on("end", () => res.end("ok"));
      },
      { body: "streamed" },
    );
    expect(body).toBe(true);
    expect(received).toBe("streamed");
    expect(reply.body).toBe("ok");
  });

  it("drops connection-specific fields and the status text, keeps single-value fields once, takes trailers as pairs", async () => {
    const reply = await exchange((_req, res) => {
      res.setHeader("connection", "keep-alive");
      res.setHeader("keep-alive", "timeout=5");
      res.writeHead(201, "Created Here", ["Content-Type", "text/plain", "Content-Type", "text/html", "Transfer-Encoding", "chunked", "Upgrade", "h2c", "Set-Cookie", "a=1", "Set-Cookie", "b=2", "X-Kept", "yes"]);
      res.write("body");
      res.addTrailers([["X-Checksum", "abc"], ["Transfer-Encoding", "chunked"]] as unknown as Record<string, string>);
      res.end();
    });
    expect(reply.headers[":status"]).toBe(201);
    expect(reply.headers["content-type"]).toBe("text/plain");
    expect(reply.headers["set-cookie"]).toEqual(["a=1", "b=2"]);
    expect(reply.headers["x-kept"]).toBe("yes");
    for (const name of ["connection", "keep-alive", "transfer-encoding", "upgrade"]) expect(reply.headers[name]).toBeUndefined();
    expect(reply.body).toBe("body");
    expect(reply.trailers["x-checksum"]).toBe("abc");
  });

  it("keeps the first value of a single-value field appended twice (a policy's headers)", async () => {
    const reply = await exchange((_req, res) => {
      res.appendHeader("content-type", "text/plain");
      res.appendHeader("content-type", "text/html");
      res.appendHeader("x-many", "1");
      res.appendHeader("x-many", "2");
      res.writeHead(200);
      res.end("ok");
    });
    expect(reply.headers["content-type"]).toBe("text/plain");
    expect(reply.headers["x-many"]).toBe("1, 2");
    expect(reply.body).toBe("ok");
  });

  it("ends the stream with NO_ERROR after a response sent with Connection: close, the body unread", async () => {
    const reply = await exchange(
      (_req, res) => {
        res.setHeader("content-length", 4);
        res.setHeader("connection", "close");
        res.writeHead(404);
        res.end("gone");
      },
      { body: "x".repeat(1000) },
    );
    expect(reply.headers[":status"]).toBe(404);
    expect(reply.headers.connection).toBeUndefined();
    expect(reply.body).toBe("gone");
    expect(reply.rstCode).toBe(0);
  });

  it("clears refused headers, so an error response can follow", async () => {
    let threw = false;
    const reply = await exchange((_req, res) => {
      try {
        res.writeHead(200, ["bad header", "x"]);
      } catch {
        threw = true;
      }
      res.setHeader("content-type", "text/plain");
      res.writeHead(502);
      res.end("upstream sent a bad head");
    });
    expect(threw).toBe(true);
    expect(reply.headers[":status"]).toBe(502);
    expect(reply.body).toBe("upstream sent a bad head");
  });
});
