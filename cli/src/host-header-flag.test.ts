import { ErrorCode } from "@onramp/errors";
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { addHostHeaderFlag, hostHeaderOption } from "./host-header-flag.js";

function parse(args: string[]): { hostHeader?: string } {
  const command = addHostHeaderFlag(new Command().exitOverride());
  command.parse(args, { from: "user" });
  return command.opts<{ hostHeader?: string }>();
}

describe("--host-header", () => {
  it.each([[[], undefined], [["--host-header", "rewrite"], "rewrite"], [["--host-header", "localhost:3000"], "localhost:3000"], [["--host-header=[::1]:8080"], "[::1]:8080"]])(
    "%j becomes hostHeader %j",
    (args, hostHeader) => {
      expect(hostHeaderOption(parse(args))).toBe(hostHeader);
    },
  );

  it.each(["http://localhost:3000", "localhost:3000/", "two words", "localhost:99999", "Rewrite!"])("rejects %j naming the flag", (value) => {
    expect(() => hostHeaderOption(parse(["--host-header", value]))).toThrow(
      expect.objectContaining({ code: ErrorCode.InvalidArgument, message: `--host-header: ${JSON.stringify(value)} is not rewrite or a host[:port] such as localhost:3000` }),
    );
  });
});
