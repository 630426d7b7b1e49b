import { forwardableHeaders } from "@onramp/mux";
import type { IncomingMessage } from "node:http";

/** Headers the edge sets itself; a client's values are replaced (X-Forwarded-For is appended to). */
const DROP = new Set(["expect", "x-forwarded-proto", "x-forwarded-host", "x-forwarded-for"]);

/**
 * The request's headers as the agent should see them: hop-by-hop headers removed, and
 * X-Forwarded-For (the client chain plus the peer address), -Proto and -Host set by the edge.
 */
export function requestHeadersForAgent(req: IncomingMessage, clientIp: string, keepUpgrade: boolean): string[] {
  const headers = forwardableHeaders(req.rawHeaders, DROP);
  const prior = req.headers["x-forwarded-for"];
  headers.push("X-Forwarded-For", prior ? `${Array.isArray(prior) ? prior.join(", ") : prior}, ${clientIp}` : clientIp);
  // A TLSSocket has `encrypted`: the request came over the HTTPS listener.
  headers.push("X-Forwarded-Proto", "encrypted" in req.socket ? "https" : "http");
  if (req.headers.host) headers.push("X-Forwarded-Host", req.headers.host);
  if (keepUpgrade && req.headers.upgrade) {
    headers.push("Connection", "Upgrade", "Upgrade", req.headers.upgrade);
  }
  return headers;
}

/** The peer address without the IPv4-mapped IPv6 prefix. */
export function clientIpOf(req: IncomingMessage): string {
  const ip = req.socket.remoteAddress ?? "";
  return ip.startsWith("::ffff:") ? ip.slice(7) : ip;
}
