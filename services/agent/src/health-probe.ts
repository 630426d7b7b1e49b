import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { connect } from "node:net";

/** What one probe found, with a line saying why, for the logs and the edges. */
export interface ProbeResult {
  ok: boolean;
  detail: string;
}

/** Lets upstream logs and access rules tell the agent's probes from real traffic. */
export const HEALTH_CHECK_USER_AGENT = "onramp-health-check";

/**
 * One GET of `path` on the upstream at `origin` (http: or https:), on a connection of its own so
 * every probe also proves the upstream accepts connections. Passes on a status 200–399 within
 * `timeoutMs`; the body is not waited for. `signal` aborts it (the agent is closing).
 */
export function probeHttp(origin: URL, path: string, timeoutMs: number, signal: AbortSignal, hostHeader = origin.host): Promise<ProbeResult> {
  const what = `GET ${path}`;
  return settleWithin(what, timeoutMs, signal, (finish) => {
    const request = origin.protocol === "https:" ? httpsRequest : httpRequest;
    const req = request({
      hostname: hostnameOf(origin),
      port: portOf(origin),
      path,
      method: "GET",
      agent: false,
      // What requests carry to the upstream: its own authority, or the bind's --host-header value
      // (a virtual-hosted upstream answers its health path only under its name). Never the public host.
      headers: { host: hostHeader, "user-agent": HEALTH_CHECK_USER_AGENT, accept: "*/*" },
    });
    req.on("response", (res) => {
      res.on("error", () => undefined); // destroyed below, before its body ends
      const status = res.statusCode ?? 0;
      finish({ ok: status >= 200 && status < 400, detail: `${what}: ${status}` });
    });
    req.on("error", (err) => finish({ ok: false, detail: `${what}: ${err.message}` }));
    req.end();
    return () => req.destroy();
  });
}

/** One TCP connect to the upstream's host:port within `timeoutMs`, closed at once: the check when no path is set. */
export function probeTcp(origin: URL, timeoutMs: number, signal: AbortSignal): Promise<ProbeResult> {
  const host = hostnameOf(origin);
  const port = portOf(origin);
  return settleWithin(`connect ${origin.host}`, timeoutMs, signal, (finish) => {
    const socket = connect({ host, port });
    socket.once("connect", () => finish({ ok: true, detail: `connected to ${origin.host}` }));
    // Node's message names the cause and the address, e.g. "connect ECONNREFUSED 127.0.0.1:3000".
    socket.on("error", (err) => finish({ ok: false, detail: err.message }));
    return () => socket.destroy();
  });
}

/**
 * Runs `start`, which calls `finish` once with the result and returns how to release what it
 * opened; fails with "<what>: timed out after N ms" when it takes longer than `timeoutMs`.
 */
function settleWithin(what: string, timeoutMs: number, signal: AbortSignal, start: (finish: (result: ProbeResult) => void) => () => void): Promise<ProbeResult> {
  return new Promise((resolve) => {
    let release: (() => void) | undefined;
    let settled = false;
    const finish = (result: ProbeResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      release?.();
      resolve(result);
    };
    const onAbort = () => finish({ ok: false, detail: `${what}: aborted` });
    const timer = setTimeout(() => finish({ ok: false, detail: `${what}: timed out after ${timeoutMs} ms` }), timeoutMs);
    timer.unref();
    signal.addEventListener("abort", onAbort, { once: true });
    release = start(finish);
    if (settled) release();
    else if (signal.aborted) onAbort();
  });
}

function hostnameOf(origin: URL): string {
  return origin.hostname.replace(/^\[|\]$/g, "");
}

function portOf(origin: URL): number {
  return Number(origin.port) || (origin.protocol === "https:" ? 443 : 80);
}
