import type { MuxConnection } from "@onramp/mux";
import { describe, expect, it } from "vitest";
import { pickRoute, RouteQueued, routeWhenReady } from "./dispatch.js";
import { parseEndpointUrl } from "./endpoint-url.js";
import { RoutingTable, type Member, type StreamOpener } from "./routing-table.js";

const CONNECTION = {} as MuxConnection;

/** A member whose route comes and goes with `route.up`. */
function member(id: string, edge: string, route: { up: boolean }): Member {
  return { id, bindId: id, edge, region: "r", agentId: id, sessionId: id, upstream: "", local: edge === "here", policy: undefined, opener: (): StreamOpener | undefined => (route.up ? CONNECTION : undefined) };
}

function tableWith(...members: Member[]) {
  const table = new RoutingTable("r");
  table.localEdge = "here";
  const url = parseEndpointUrl("https://pool.internal");
  for (const m of members) table.addMember(url, true, m);
  return { table, endpoint: table.lookup("pool.internal", true)! };
}

describe("pickRoute", () => {
  it("passes over a member without a route and takes it back once its route returns", () => {
    const near = { up: false };
    const { endpoint } = tableWith(member("near", "here", near), member("far", "there", { up: true }));
    const first = pickRoute(endpoint);
    expect(first.member.id).toBe("far");
    first.release();
    near.up = true;
    // The member on this edge is preferred again as soon as it can take requests.
    expect(pickRoute(endpoint).member.id).toBe("near");
  });

  it("queues when the only members are not ready, and routes once one is", async () => {
    const relay = { up: false };
    const { table, endpoint } = tableWith(member("far", "there", relay));
    expect(() => pickRoute(endpoint)).toThrow(RouteQueued);
    const waiting = routeWhenReady(table, endpoint, undefined, 5_000);
    relay.up = true;
    table.notifyChanged(); // the relay connected
    expect((await waiting).member.id).toBe("far");
  });

  it("gives up a queued request with ENDPOINT_OFFLINE when nothing comes in time", async () => {
    const { table, endpoint } = tableWith(member("far", "there", { up: false }));
    await expect(routeWhenReady(table, endpoint, undefined, 50)).rejects.toMatchObject({ code: "ENDPOINT_OFFLINE" });
  });
});
