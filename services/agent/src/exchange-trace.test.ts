import { describe, expect, it } from "vitest";
import { withTraceparent } from "./exchange-trace.js";

const TP = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

describe("withTraceparent", () => {
  it("adds the upstream's traceparent when the client sent none", () => {
    expect(withTraceparent(["host", "a", "accept", "*/*"], TP)).toEqual(["host", "a", "accept", "*/*", "traceparent", TP]);
  });

  it("replaces what the client sent, whatever its case, and drops a second one", () => {
    const headers = ["host", "a", "TraceParent", "00-ffffffffffffffffffffffffffffffff-ffffffffffffffff-01", "x-y", "z", "traceparent", "junk"];
    const out = withTraceparent(headers, TP);
    expect(out).toEqual(["host", "a", "TraceParent", TP, "x-y", "z"]);
    // In place: the array made for this request's upstream is not copied.
    expect(out).toBe(headers);
  });
});
