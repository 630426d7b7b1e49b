import { ErrorCode } from "@onramp/errors";
import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { admitRequest } from "./request-admission.js";

const DEFAULTS = { normalizePath: true, mergeSlashes: true };

/** The parts of a parsed request admission reads. */
function request(method: string, url: string, rawHeaders: string[]): IncomingMessage {
  const headers: Record<string, string> = {};
  for (let i = 0; i < rawHeaders.length; i += 2) headers[rawHeaders[i]!.toLowerCase()] ??= rawHeaders[i + 1]!;
  return { method, url, rawHeaders, headers } as unknown as IncomingMessage;
}

describe("admitRequest", () => {
  it("rewrites the target in place to what policies and the upstream see", () => {
    const req = request("GET", "http://app.example.com/x/../%61dmin?q=%2e", ["Host", "app.example.com"]);
    expect(admitRequest(req, DEFAULTS)).toEqual({ kind: "route" });
    expect(req.url).toBe("/admin?q=%2e");
  });

  it.each([
    [["Host", "a.example.com", "host", "b.example.com"], "more than one Host header"],
    [["Host", "a.example.com", "HOST", "a.example.com"], "more than one Host header"],
    [[], "no Host header"],
  ])("refuses %j: %s", (rawHeaders, why) => {
    const admission = admitRequest(request("GET", "/", rawHeaders), DEFAULTS);
    expect(admission.kind).toBe("refuse");
    if (admission.kind !== "refuse") return;
    expect(admission.error.code).toBe(ErrorCode.MalformedRequest);
    expect(admission.error.message).toContain(why);
  });

  it("refuses a target it cannot route, leaving it as it was", () => {
    const req = request("GET", "/a%zz", ["Host", "app.example.com"]);
    const admission = admitRequest(req, DEFAULTS);
    expect(admission.kind === "refuse" && admission.error.code).toBe(ErrorCode.MalformedRequest);
    expect(req.url).toBe("/a%zz");
  });

  it("keeps OPTIONS * for the edge itself, and refuses * with any other method", () => {
    expect(admitRequest(request("OPTIONS", "*", ["Host", "app.example.com"]), DEFAULTS)).toEqual({ kind: "server-options" });
    const get = admitRequest(request("GET", "*", ["Host", "app.example.com"]), DEFAULTS);
    expect(get.kind === "refuse" && get.error.message).toContain("the target * is for OPTIONS only, not GET");
  });
});
