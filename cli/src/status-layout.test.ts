import { describe, expect, it } from "vitest";
import { formatLatency, layoutStatus } from "./status-layout.js";
import type { RequestRow, StatusView } from "./status-view.js";
import { plainText, widthOf } from "./terminal-text.js";

/** 12:04:05.678 local time, as the screen shows clocks. */
const AT = new Date(2024, 0, 1, 12, 4, 5, 678).getTime();

function view(overrides: Partial<StatusView> = {}): StatusView {
  return {
    version: "0.1.0",
    session: "online",
    edges: [{ edge: "edge.example.com:4443", state: "online", region: "eu", rttMs: 23.4 }],
    forwarding: [{ url: "https://app.example.com", upstream: "http://localhost:3000" }],
    connections: { ttl: 12, opn: 1, rt1: 0.2, rt5: 0.04, p50: 0.012, p90: 0.25 },
    notices: [],
    requests: [],
    ...overrides,
  };
}

function screen(v: StatusView, columns = 120, rows = 40): string[] {
  return layoutStatus(v, { columns, rows }).map(plainText);
}

function row(path: string, result?: RequestRow["result"], method = "GET", at = AT): RequestRow {
  return { at, method, path, result };
}

describe("layoutStatus", () => {
  it("shows the session, version, edge with region and latency, forwarding and connection counts like ngrok", () => {
    const lines = screen(view({ inspectorUrl: "http://127.0.0.1:4040", metricsUrl: "http://127.0.0.1:9100/metrics" }));
    expect(lines[0]).toMatch(/^onramp +\(Ctrl\+C to quit\)$/);
    expect(lines[0]).toHaveLength(120);
    expect(lines).toContain(`${"Session Status".padEnd(30)}online`);
    expect(lines).toContain(`${"Version".padEnd(30)}0.1.0`);
    expect(lines).toContain(`${"Edge".padEnd(30)}edge.example.com:4443  online  region eu  latency 23ms`);
    expect(lines).toContain(`${"Web Interface".padEnd(30)}http://127.0.0.1:4040`);
    expect(lines).toContain(`${"Metrics".padEnd(30)}http://127.0.0.1:9100/metrics`);
    expect(lines).toContain(`${"Forwarding".padEnd(30)}https://app.example.com -> http://localhost:3000`);
    const connections = lines.findIndex((l) => l.startsWith("Connections"));
    expect(lines[connections]).toBe(`${"Connections".padEnd(30)}ttl     opn     rt1     rt5     p50     p90`);
    expect(lines[connections + 1]).toBe(`${"".padEnd(30)}12      1       0.20    0.04    0.01    0.25`);
  });

  it("leaves out the web interface when there is none, and shows the latency as measured", () => {
    const lines = screen(view({ edges: [{ edge: "e:1", state: "online", region: "local" }] }));
    expect(lines.some((l) => l.startsWith("Web Interface"))).toBe(false);
    expect(lines).toContain(`${"Edge".padEnd(30)}e:1  online  region local  latency -`);
    expect(formatLatency(0.43)).toBe("0.4ms");
    expect(formatLatency(123.6)).toBe("124ms");
    expect(formatLatency(1500)).toBe("1.5s");
  });

  it("while reconnecting: the session says so, each edge when its next try is and why, the URLs stay", () => {
    const lines = screen(
      view({
        session: "reconnecting",
        edges: [
          { edge: "a.example.com:4443", state: "reconnecting", retryInMs: 3_000, reason: "connection refused" },
          { edge: "b:1", state: "reconnecting", retryInMs: 0, reason: "the connection dropped" },
        ],
      }),
    );
    expect(lines).toContain(`${"Session Status".padEnd(30)}reconnecting`);
    expect(lines).toContain(`${"Edge".padEnd(30)}a.example.com:4443  reconnecting in 3 s (connection refused)`);
    // Addresses line up; a try that is due now has no countdown.
    expect(lines).toContain(`${"Edge".padEnd(30)}b:1                 reconnecting… (the connection dropped)`);
    expect(lines).toContain(`${"Forwarding".padEnd(30)}https://app.example.com -> http://localhost:3000`);
  });

  it("before the first session: connecting, then offline with the reason once a try failed", () => {
    const connecting = screen(view({ session: "connecting", edges: [{ edge: "e:1", state: "connecting" }], forwarding: [] }));
    expect(connecting).toContain(`${"Session Status".padEnd(30)}connecting`);
    expect(connecting).toContain(`${"Edge".padEnd(30)}e:1  connecting…`);
    const failed = screen(view({ session: "connecting", edges: [{ edge: "e:1", state: "connecting", retryInMs: 1_500, reason: "host name not found" }] }));
    expect(failed).toContain(`${"Edge".padEnd(30)}e:1  offline, retrying in 1.5 s (host name not found)`);
  });

  it("says how many edges are up when some are not, and that it is stopping", () => {
    const edges = [
      { edge: "a:1", state: "online" as const, region: "eu" },
      { edge: "b:1", state: "reconnecting" as const, retryInMs: 2_000, reason: "connection refused" },
    ];
    expect(screen(view({ edges }))).toContain(`${"Session Status".padEnd(30)}online (1 of 2 edges)`);
    expect(screen(view({ session: "stopping" }))[2]).toMatch(/^Session Status +stopping \(finishing in-flight requests/);
  });

  it("lists the requests as given (most recent first) with time, method, path, status and duration", () => {
    const requests = [
      row("/in-flight"),
      row("/missing", { status: 404, durationMs: 3 }, "POST"),
      row("/down", { errorCode: "UPSTREAM_REFUSED", durationMs: 1 }),
      row("/gone", { errorCode: "CLIENT_CLOSED", durationMs: 1500 }),
      row("/", { status: 200, durationMs: 12 }),
    ];
    const lines = screen(view({ requests }));
    const heading = lines.indexOf("HTTP Requests");
    expect(lines[heading + 1]).toBe("-------------");
    const rows = lines.slice(heading + 3).map((l) => l.replace(/ +/g, " ").trim());
    expect(rows).toEqual([
      "12:04:05.678 GET /in-flight …",
      "12:04:05.678 POST /missing 404 Not Found 3 ms",
      "12:04:05.678 GET /down 502 UPSTREAM_REFUSED 1 ms",
      "12:04:05.678 GET /gone client closed 1.5 s",
      "12:04:05.678 GET / 200 OK 12 ms",
    ]);
    // The duration column ends at the right edge of the screen.
    expect(lines[heading + 3 + 4]!.endsWith(" 12 ms")).toBe(true);
    expect(lines[heading + 3 + 4]).toHaveLength(120);
  });

  it("shows the latest notices, at most five, with their time", () => {
    const notices = Array.from({ length: 8 }, (_, i) => ({ at: AT, level: "warn" as const, text: `notice ${i}` }));
    const lines = screen(view({ notices }));
    const start = lines.indexOf("Notices");
    expect(lines.slice(start + 1, start + 7)).toEqual(["12:04:05  notice 0", "12:04:05  notice 1", "12:04:05  notice 2", "12:04:05  notice 3", "12:04:05  notice 4", ""]);
  });

  it("fits every line to the width, cutting long paths and URLs with an ellipsis", () => {
    const long = `/${"x".repeat(300)}`;
    const v = view({ forwarding: [{ url: `https://${"a".repeat(100)}.example.com`, upstream: "http://localhost:3000" }], requests: [row(long, { status: 200, durationMs: 1 })] });
    for (const columns of [40, 80, 120]) {
      const lines = screen(v, columns);
      for (const line of lines) expect(widthOf(line)).toBeLessThanOrEqual(columns);
      expect(lines.find((l) => l.startsWith("Forwarding"))).toMatch(/…$/);
    }
    // Wide enough for the columns: the path is cut inside its own column, status and duration stay.
    const request = screen(v, 100).find((l) => l.includes("/xxx"))!;
    expect(request).toMatch(/\/x+… 200 OK +1 ms$/);
  });

  it("shows as many requests as the height leaves room for, and never more lines than rows", () => {
    const requests = Array.from({ length: 50 }, (_, i) => row(`/r${i}`, { status: 200, durationMs: 1 }));
    const lines = screen(view({ requests }), 120, 24);
    expect(lines).toHaveLength(24);
    expect(lines[lines.length - 1]).toContain("/r");
    const shown = lines.filter((l) => / \/r\d+ /.test(l));
    expect(shown[0]).toContain("/r0 ");
    expect(shown).toHaveLength(24 - lines.indexOf("HTTP Requests") - 3);
    // A terminal too short for the list: the header alone, cut to the rows there are.
    expect(screen(view({ requests }), 120, 5)).toHaveLength(5);
    expect(screen(view({ requests }), 120, 12).some((l) => l === "HTTP Requests")).toBe(false);
  });

  it("turns control characters from the network into '?'", () => {
    const lines = screen(view({ requests: [row("/a\u001b[31mred", { status: 200, durationMs: 1 })], notices: [{ at: AT, level: "error", text: "bad\u0007bell" }] }));
    expect(lines.some((l) => l.includes("/a?[31mred"))).toBe(true);
    expect(lines).toContain("12:04:05  bad?bell");
  });
});
