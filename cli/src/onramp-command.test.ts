import { afterEach, describe, expect, it, vi } from "vitest";
import { OnrampCommand } from "./onramp-command.js";

function parse(args: string[]) {
  const program = new OnrampCommand().exitOverride();
  const http = program.command("http").option("--authtoken <token>").option("--config <file>").option("--all").option("--pooling-enabled").action(() => {});
  const edge = program.command("edge").option("--no-http2").action(() => {});
  const nested = program.command("policy").command("check").option("--cloud").action(() => {});
  program.parse(args, { from: "user" });
  return { http, nested, edge };
}

afterEach(() => void vi.unstubAllEnvs());

describe("ONRAMP_* variables", () => {
  it("set a top-level command's long flags; the command line wins", () => {
    vi.stubEnv("ONRAMP_AUTHTOKEN", "from-env");
    const { http } = parse(["http"]);
    expect(http.opts()).toEqual({ authtoken: "from-env" });
    expect(http.getOptionValueSource("authtoken")).toBe("env");
    expect(parse(["http", "--authtoken", "from-flag"]).http.opts()).toEqual({ authtoken: "from-flag" });
  });

  it("do not set --config, --all, or the flags of nested commands", () => {
    vi.stubEnv("ONRAMP_CONFIG", "x.yml");
    vi.stubEnv("ONRAMP_ALL", "1");
    vi.stubEnv("ONRAMP_CLOUD", "1");
    expect(parse(["http"]).http.opts()).toEqual({});
    expect(parse(["policy", "check"]).nested.opts()).toEqual({});
  });

  it("turn a flag without a value on when set, and refuse a value that reads as off", () => {
    vi.stubEnv("ONRAMP_POOLING_ENABLED", "1");
    expect(parse(["http"]).http.opts()).toEqual({ poolingEnabled: true });
    vi.stubEnv("ONRAMP_POOLING_ENABLED", "false");
    expect(() => parse(["http"])).toThrow("ONRAMP_POOLING_ENABLED=false: --pooling-enabled is on whenever ONRAMP_POOLING_ENABLED is set; unset it to leave --pooling-enabled off");
  });

  it("treat a --no-… flag the same way: ONRAMP_NO_HTTP2=false must not turn HTTP/2 off", () => {
    vi.stubEnv("ONRAMP_NO_HTTP2", "1");
    expect(parse(["edge"]).edge.opts()).toEqual({ http2: false });
    vi.stubEnv("ONRAMP_NO_HTTP2", "false");
    expect(() => parse(["edge"])).toThrow("ONRAMP_NO_HTTP2=false: --no-http2 is on whenever ONRAMP_NO_HTTP2 is set; unset it to leave --no-http2 off");
  });
});
