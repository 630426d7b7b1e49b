import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { readAgentConfig } from "./agent-config.js";
import { agentSettingsFor } from "./agent-settings-fixture.js";
import { parseInspectAddr, startInspection } from "./inspect-flags.js";

/** The inspector settings of `onramp agent-test ARGS` with `env` set and a config file holding `config`. */
function inspectSettings(args: string[], env: Record<string, string> = {}, config?: string) {
  return agentSettingsFor(args, env, config).inspect;
}

const held: Server[] = [];
afterEach(async () => {
  vi.unstubAllEnvs();
  await Promise.all(held.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

describe("inspector settings: flags > ONRAMP_* > config file > on at 127.0.0.1:4040", () => {
  it("is on at the default address with nothing set", () => {
    expect(inspectSettings(["agent-test"])).toEqual({ kind: "default" });
  });

  it("is off with --inspect=false, --no-inspect, ONRAMP_INSPECT=false or inspect: false", () => {
    expect(inspectSettings(["agent-test", "--inspect=false"])).toEqual({ kind: "off" });
    expect(inspectSettings(["agent-test", "--no-inspect"])).toEqual({ kind: "off" });
    expect(inspectSettings(["agent-test"], { ONRAMP_INSPECT: "off" })).toEqual({ kind: "off" });
    expect(inspectSettings(["agent-test"], {}, "inspect: false\n")).toEqual({ kind: "off" });
    expect(inspectSettings(["agent-test", "--inspect", "true"], {}, "inspect: false\n")).toEqual({ kind: "default" });
  });

  it("listens where --inspect-addr, ONRAMP_INSPECT_ADDR or inspect_addr says, naming the source", () => {
    const file = "inspect_addr: 127.0.0.1:4999\n";
    expect(inspectSettings(["agent-test"], {}, file)).toMatchObject({ kind: "address", addr: { host: "127.0.0.1", port: 4999 }, from: expect.stringMatching(/^inspect_addr in .*onramp\.yml$/) });
    expect(inspectSettings(["agent-test"], { ONRAMP_INSPECT_ADDR: "localhost:5000" }, file)).toEqual({ kind: "address", addr: { host: "localhost", port: 5000 }, from: "ONRAMP_INSPECT_ADDR" });
    expect(inspectSettings(["agent-test", "--inspect-addr", "[::1]:0"], { ONRAMP_INSPECT_ADDR: "localhost:5000" })).toEqual({ kind: "address", addr: { host: "::1", port: 0 }, from: "--inspect-addr" });
    // An address on the command line is a wish for the inspector, whatever the file says.
    expect(inspectSettings(["agent-test", "--inspect-addr", "4100"], {}, "inspect: false\n")).toMatchObject({ kind: "address", addr: { host: "127.0.0.1", port: 4100 } });
  });

  it("refuses values it cannot use, naming the flag or key", () => {
    expect(() => inspectSettings(["agent-test", "--inspect", "maybe"])).toThrow('--inspect: "maybe" is not true or false');
    expect(() => inspectSettings(["agent-test", "--inspect-addr", "nope"])).toThrow('--inspect-addr: "nope" is not host:port, e.g. 127.0.0.1:4040');
    expect(() => inspectSettings(["agent-test", "--inspect-addr", "127.0.0.1:70000"])).toThrow("--inspect-addr: \"127.0.0.1:70000\" is not host:port");
    expect(() => inspectSettings(["agent-test", "--inspect-addr", "1.2.3.4:1", "--inspect=false"])).toThrow("--inspect-addr sets where the inspector listens, and --inspect=false (or --no-inspect) turns it off; give one of them");
    expect(() => inspectSettings(["agent-test"], {}, "inspect_addr: here\n")).toThrow('inspect_addr: "here" is not host:port');
    expect(() => inspectSettings(["agent-test"], {}, "inspect: sometimes\n")).toThrow('inspect: "sometimes" is not true or false');
  });

  it("parses the address forms", () => {
    expect(["127.0.0.1:4040", "0.0.0.0:80", "[::1]:4040", "localhost:1", "4041"].map((t) => parseInspectAddr("x", t))).toEqual([
      { host: "127.0.0.1", port: 4040 }, { host: "0.0.0.0", port: 80 }, { host: "::1", port: 4040 }, { host: "localhost", port: 1 }, { host: "127.0.0.1", port: 4041 },
    ]);
    expect(() => parseInspectAddr("x", "[nope]:1")).toThrow("x: [nope] is not an IPv6 address");
  });
});

describe("inspect: false on an endpoint of the config file", () => {
  it("keeps that endpoint out of the inspector; anything but true or false is a problem", () => {
    const path = join(mkdtempSync(join(tmpdir(), "onramp-inspect-")), "onramp.yml");
    writeFileSync(path, "endpoints:\n  secret:\n    upstream: 3000\n    inspect: false\n  web:\n    upstream: 3001\n");
    const { config, problems } = readAgentConfig(path, { required: true });
    expect(problems).toEqual([]);
    expect(config.endpoints.list.map((e) => [e.name, e.inspect])).toEqual([["secret", false], ["web", undefined]]);
    writeFileSync(path, "endpoints:\n  web:\n    upstream: 3000\n    inspect: nope\n");
    expect(readAgentConfig(path, { required: true }).problems.map((p) => p.message)).toEqual(["endpoints.web.inspect: must be true or false"]);
  });
});

describe("startInspection", () => {
  async function hold(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    held.push(server);
    return (server.address() as { port: number }).port;
  }

  it("serves on the address asked for and says where", async () => {
    const running = await startInspection({ kind: "address", addr: { host: "127.0.0.1", port: 0 }, from: "--inspect-addr" }, () => undefined);
    expect(running?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${running!.url}/api/requests/http`)).status).toBe(200);
    await running!.close();
  });

  it("fails on a taken address asked for, naming where it was asked", async () => {
    const port = await hold();
    await expect(startInspection({ kind: "address", addr: { host: "127.0.0.1", port }, from: "--inspect-addr" }, () => undefined)).rejects.toThrow(
      `--inspect-addr: cannot listen on 127.0.0.1:${port}: the address is already in use; choose another address, or --inspect=false to run without the inspector`,
    );
  });

  it("does nothing when off", async () => {
    expect(await startInspection({ kind: "off" }, () => undefined)).toBeUndefined();
  });
});
