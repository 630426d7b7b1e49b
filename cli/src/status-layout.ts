import { ErrorCode, httpStatusOf, parseErrorCode } from "@onramp/errors";
import { STATUS_CODES } from "node:http";
import { fit, fitLine, padStart, printable, span, type Line, type Span, type Style } from "./terminal-text.js";
import { formatDuration } from "./units.js";
import type { ConnectionCounts } from "./request-stats.js";
import type { EdgeView, Notice, RequestRow, SessionState, StatusView } from "./status-view.js";

export interface ScreenSize {
  readonly columns: number;
  readonly rows: number;
}

/** The label column, as wide as ngrok's, so the screen reads like the one users know. */
const LABEL_WIDTH = 30;

/** Notices shown at most: enough for a problem and its recovery, few enough to leave room for requests. */
const SHOWN_NOTICES = 5;

/** The Connections table's column width (ngrok's). */
const COUNT_WIDTH = 8;

const SESSION_STYLE: Record<SessionState, Style> = { online: "green", connecting: "yellow", reconnecting: "red", stopping: "yellow" };

/**
 * The status screen as lines for a terminal of `size`: a header like ngrok's agent (session,
 * version, edges with region and latency, web interface, forwarding, connection counts), the
 * latest notices, then as many of the latest requests as the height leaves room for. Every line
 * fits the width (cut lines end in "…") and there are never more lines than rows, so drawing
 * never scrolls. Pure: the same view and size give the same lines.
 */
export function layoutStatus(view: StatusView, size: ScreenSize): Line[] {
  const lines: Line[] = [
    titleLine(size.columns),
    [],
    labelled("Session Status", sessionSpans(view)),
    labelled("Version", [span(view.version)]),
    ...edgeLines(view.edges),
    ...(view.inspectorUrl ? [labelled("Web Interface", [span(printable(view.inspectorUrl))])] : []),
    ...(view.metricsUrl ? [labelled("Metrics", [span(printable(view.metricsUrl))])] : []),
    ...view.forwarding.map((f) => labelled("Forwarding", [span(`${printable(f.url)} -> ${printable(f.upstream)}`)])),
    [],
    ...connectionLines(view.connections),
  ];
  if (view.notices.length > 0) lines.push([], [span("Notices", "bold")], ...view.notices.slice(0, SHOWN_NOTICES).map(noticeLine));
  // The request list takes what is left: its heading, a rule and a blank line, then one row per request.
  const room = size.rows - lines.length - 4;
  if (room > 0) {
    lines.push([], [span("HTTP Requests", "bold")], [span("-------------")], []);
    lines.push(...view.requests.slice(0, room).map((r) => requestLine(r, size.columns)));
  }
  return lines.slice(0, Math.max(0, size.rows)).map((line) => fitLine(line, size.columns));
}

function titleLine(columns: number): Line {
  const title = "onramp";
  const quit = "(Ctrl+C to quit)";
  const gap = columns - title.length - quit.length;
  return gap >= 1 ? [span(title, "bold"), span(" ".repeat(gap)), span(quit, "dim")] : [span(title, "bold")];
}

function labelled(label: string, value: Span[]): Line {
  return [span(fit(label, LABEL_WIDTH - 1) + " "), ...value];
}

function sessionSpans(view: StatusView): Span[] {
  const spans = [span(view.session, SESSION_STYLE[view.session])];
  const up = view.edges.filter((e) => e.state === "online").length;
  if (view.session === "online" && up < view.edges.length) spans.push(span(` (${up} of ${view.edges.length} edges)`, "yellow"));
  if (view.session === "stopping") spans.push(span(" (finishing in-flight requests; Ctrl+C again to quit now)", "dim"));
  return spans;
}

/** One line per edge: address (aligned), then region and latency when online, or why not and when the next try is. */
function edgeLines(edges: readonly EdgeView[]): Line[] {
  const width = Math.max(0, ...edges.map((e) => e.edge.length));
  return edges.map((e) => {
    const address = span(`${fit(printable(e.edge), width)}  `);
    if (e.state === "online") {
      const latency = e.rttMs === undefined ? "-" : formatLatency(e.rttMs);
      return labelled("Edge", [address, span("online", "green"), span(`  region ${printable(e.region || "-")}  latency ${latency}`)]);
    }
    const waiting = e.retryInMs !== undefined && e.retryInMs > 0;
    const why = e.reason ? ` (${printable(e.reason)})` : "";
    // "connecting…" on the first try; after a failure, when the next try is and what went wrong.
    const state =
      e.state === "reconnecting" ? `reconnecting${waiting ? ` in ${formatDuration(e.retryInMs!)}` : "…"}` : !e.reason ? "connecting…" : waiting ? `offline, retrying in ${formatDuration(e.retryInMs!)}` : "offline, retrying…";
    return labelled("Edge", [address, span(state, e.reason ? "red" : "yellow"), span(why)]);
  });
}

/** "0.4ms", "12ms", "1.3s": tenths below 10 ms, where loopback and LAN edges are. */
export function formatLatency(ms: number): string {
  if (ms < 10) return `${ms.toFixed(1)}ms`;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  return `${(ms / 1000).toFixed(1)}s`;
}

function connectionLines(c: ConnectionCounts): Line[] {
  const row = (cells: string[]) => cells.map((cell) => fit(cell, COUNT_WIDTH)).join("").trimEnd();
  const seconds = (s: number | undefined) => (s === undefined ? "0.00" : s.toFixed(2));
  return [
    labelled("Connections", [span(row(["ttl", "opn", "rt1", "rt5", "p50", "p90"]))]),
    labelled("", [span(row([String(c.ttl), String(c.opn), c.rt1.toFixed(2), c.rt5.toFixed(2), seconds(c.p50), seconds(c.p90)]))]),
  ];
}

const NOTICE_STYLE: Record<Notice["level"], Style | undefined> = { info: undefined, warn: "yellow", error: "red" };

function noticeLine(n: Notice): Line {
  return [span(`${clock(n.at, false)}  `, "dim"), span(printable(n.text), NOTICE_STYLE[n.level])];
}

/** Columns of a request row besides the path and the 4 columns of gaps: time, method, status and duration. */
const TIME_WIDTH = 12;
const METHOD_WIDTH = 7;
const STATUS_WIDTH = 26;
const DURATION_WIDTH = 8;

/** `12:04:05.678  GET     /path…   200 OK   12 ms`: the path takes the columns the others leave. */
function requestLine(r: RequestRow, columns: number): Line {
  const pathWidth = Math.max(12, columns - TIME_WIDTH - METHOD_WIDTH - STATUS_WIDTH - DURATION_WIDTH - 4);
  const { text, style } = statusOf(r);
  return [
    span(`${clock(r.at, true)}  `, "dim"),
    span(`${fit(printable(r.method), METHOD_WIDTH)} `),
    span(`${fit(printable(r.path), pathWidth)} `),
    span(fit(text, STATUS_WIDTH), style),
    span(padStart(r.result ? formatDuration(r.result.durationMs) : "", DURATION_WIDTH)),
  ];
}

/**
 * "200 OK"; for an exchange that got no answer from the upstream, what the client got instead,
 * e.g. "502 UPSTREAM_REFUSED" (the edge answers with the code's status); "client closed" when the
 * client hung up first and got nothing; "…" while in flight.
 */
function statusOf(r: RequestRow): { text: string; style?: Style } {
  const result = r.result;
  if (!result) return { text: "…", style: "dim" };
  if (result.status !== undefined) return { text: `${result.status} ${STATUS_CODES[result.status] ?? ""}`.trimEnd(), style: statusStyle(result.status) };
  if (result.errorCode === undefined) return { text: "no response", style: "red" };
  const code = parseErrorCode(result.errorCode);
  if (code === ErrorCode.ClientClosed) return { text: "client closed", style: "yellow" };
  return { text: `${httpStatusOf(code)} ${code}`, style: "red" };
}

function statusStyle(status: number): Style | undefined {
  if (status >= 500) return "red";
  if (status >= 400) return "yellow";
  if (status >= 300) return "cyan";
  return status >= 200 ? "green" : undefined;
}

/** Local wall-clock time, HH:MM:SS with milliseconds for requests (several can fall in one second). */
function clock(at: number, millis: boolean): string {
  const d = new Date(at);
  const two = (n: number) => String(n).padStart(2, "0");
  const hms = `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  return millis ? `${hms}.${String(d.getMilliseconds()).padStart(3, "0")}` : hms;
}
