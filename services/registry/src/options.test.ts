import { ErrorCode } from "@onramp/errors";
import { createMemoryControlStore } from "@onramp/registry";
import { silentLogger } from "@onramp/telemetry";
import { describe, expect, it } from "vitest";
import { parseListenAddr, resolveRegistryApiOptions, type RegistryApiOptions } from "./options.js";

const base = (): RegistryApiOptions => ({ store: createMemoryControlStore(), logger: silentLogger() });

describe("registry API options", () => {
  it("fills in the defaults: 1 MiB bodies, keys trusted for 1 s, no bootstrap key, no bus", () => {
    expect(resolveRegistryApiOptions(base())).toMatchObject({ apiKeys: [], maxBodyBytes: 1024 * 1024, keyCacheMs: 1_000, bus: undefined });
  });

  it("refuses bad values naming the field", () => {
    const cases: [Partial<RegistryApiOptions>, RegExp][] = [
      [{ apiKeys: [" padded-key-0123456789 "] }, /^registry API option apiKeys\[0\] \(--api-key \/ ONRAMP_API_KEY\) must be a non-empty string/],
      [{ apiKeys: ["good-key-0123456789", ""] }, /^registry API option apiKeys\[1\] /],
      [{ maxBodyBytes: 0 }, /^registry API option maxBodyBytes must be a whole number from 1/],
      [{ keyCacheMs: -1 }, /^registry API option keyCacheMs /],
      [{ store: {} as never }, /^registry API option store /],
      [{ bus: { publish: () => undefined } as never }, /^registry API option bus must be a Bus/],
    ];
    for (const [change, message] of cases) {
      expect(() => resolveRegistryApiOptions({ ...base(), ...change })).toThrow(expect.objectContaining({ code: ErrorCode.InvalidArgument, message: expect.stringMatching(message) }));
    }
  });

  it("parses listen addresses", () => {
    expect(parseListenAddr("127.0.0.1:4041")).toEqual({ host: "127.0.0.1", port: 4041 });
    expect(parseListenAddr("[::1]:0")).toEqual({ host: "::1", port: 0 });
    expect(parseListenAddr(":4041")).toEqual({ host: "0.0.0.0", port: 4041 });
    for (const bad of ["4041", "localhost", "host:99999", "a b:1"]) expect(() => parseListenAddr(bad)).toThrow(/registry API option addr /);
  });
});
