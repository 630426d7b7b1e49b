import { ErrorCode, OnrampError } from "@onramp/errors";
import { bridgeSocket, decodeResponseHead, encodeRequestHead, type MuxStream } from "@onramp/mux";
import type { IncomingMessage } from "node:http";
import { STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { pickRoute, resolveEndpoint, RouteQueued, routeWhenReady, type EdgeEndpoint, type Route } from "./dispatch.js";
import { writeRawError } from "./error-response.js";
import { clientIpOf } from "./forwarded-headers.js";
import { shapeOf, type PolicyHandler, type RequestShape } from "./request-shape.js";
import type { UpgradeResult } from "./routing-meter.js";
import type { RoutingTable } from "./routing-table.js";

/**
 * Routes a protocol switch (WebSocket and other `Upgrade:` requests). When the endpoint or the
 * picked member has a traffic policy, its request phase decides first.
 */
export function proxyUpgrade(table: RoutingTable, policies: PolicyHandler | undefined, req: IncomingMessage, socket: Duplex, early: Buffer): void {
  let endpoint: EdgeEndpoint | undefined;
  let route: Route | undefined;
  try {
    endpoint = resolveEndpoint(table, req.headers.host);
    if (!endpoint.cloudPolicy) route = pickRoute(endpoint);
  } catch (err) {
    if (err instanceof RouteQueued) {
      const queued = endpoint!;
      routeWhenReady(table, queued).then(
        (r) => {
          if (!socket.destroyed) return routeUpgrade(policies, req, socket, early, queued, r);
          r.release();
          table.meter.upgradeEnded("failed");
        },
        (e: unknown) => {
          table.meter.upgradeEnded("unrouted");
          writeRawError(socket, OnrampError.from(e, ErrorCode.Internal));
        },
      );
      return;
    }
    table.meter.upgradeEnded("unrouted");
    writeRawError(socket, OnrampError.from(err, ErrorCode.Internal));
    return;
  }
  routeUpgrade(policies, req, socket, early, endpoint, route);
}

function routeUpgrade(policies: PolicyHandler | undefined, req: IncomingMessage, socket: Duplex, early: Buffer, endpoint: EdgeEndpoint, route: Route | undefined): void {
  if (policies && (endpoint.cloudPolicy || route?.member.policy)) {
    policies.handleUpgrade(req, socket, early, endpoint, route);
    return;
  }
  forwardUpgrade(req, socket, early, endpoint, route!, shapeOf(req, true));
}

/**
 * Proxies a protocol switch to the picked member. The head goes to the agent like any request;
 * after the upstream's 101 the stream carries raw bytes both ways, each direction under its own
 * credit window.
 */
export function forwardUpgrade(req: IncomingMessage, socket: Duplex, early: Buffer, endpoint: EdgeEndpoint, route: Route, shape: RequestShape): void {
  let switched = false;
  let released = false;
  /** Counted once, when the handshake ends however it ends. */
  let answered = false;
  const handshakeEnded = (result: UpgradeResult) => {
    if (answered) return;
    answered = true;
    endpoint.meter.upgradeEnded(result);
    if (result === "switched") endpoint.meter.upgradedConnections(1);
  };
  const release = () => {
    if (!released) {
      released = true;
      route.release();
    }
  };

  const stream: MuxStream = route.opener.openStream(
    encodeRequestHead({
      ...shape,
      endpointId: endpoint.id,
      bindId: route.member.bindId,
      clientAddr: `${clientIpOf(req)}:${req.socket.remotePort ?? 0}`,
      upgrade: true,
    }),
    false,
    {
      onHead: (payload) => {
        const head = decodeResponseHead(payload);
        let text = `HTTP/1.1 ${head.status} ${head.statusText || STATUS_CODES[head.status] || ""}\r\n`;
        for (let i = 0; i + 1 < head.headers.length; i += 2) text += `${head.headers[i]}: ${head.headers[i + 1]}\r\n`;
        if (head.status !== 101) text += "Connection: close\r\n";
        socket.write(text + "\r\n");
        if (head.body.length > 0) socket.write(head.body);
        switched = head.status === 101;
        handshakeEnded(switched ? "switched" : "refused");
        socket.resume();
      },
      onReset: (code, message) => {
        release();
        handshakeEnded("failed");
        if (!switched) writeRawError(socket, new OnrampError(code, message));
        else socket.destroy();
      },
    },
    // A switched connection may stay open for hours with little traffic: no loan held for it.
    false,
  );

  // Bytes the client sent before the 101 (its first frames) go along; the socket stays paused
  // until the upstream's answer arrives.
  if (early.length > 0) stream.write(early);
  socket.pause();
  bridgeSocket(stream, socket);
  socket.on("close", () => {
    release();
    if (switched) endpoint.meter.upgradedConnections(-1);
    else handshakeEnded("failed");
    if (!stream.isClosed) stream.reset(ErrorCode.ClientClosed, "the client went away");
  });
}
