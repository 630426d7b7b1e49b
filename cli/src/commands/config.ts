import { ErrorCode, OnrampError } from "@onramp/errors";
import type { Command } from "commander";
import { existsSync } from "node:fs";
import { addEdge, saveAuthtoken } from "../agent-config-edit.js";
import { checkAgentConfig } from "../config-check.js";
import { defaultAgentConfigPath } from "../config-paths.js";
import { edgeAddressProblem } from "../edge-address.js";

export function registerConfigCommand(program: Command): void {
  const config = program
    .command("config")
    .description("the agent config file: where it is, what it holds, whether it is valid")
    .option("--config <file>", "work on this file instead of the default (onramp config path)")
    .configureHelp({ showGlobalOptions: true });
  // --config belongs to `config`, so it works before and after the subcommand's name.
  const pathOf = (command: Command) => (command.optsWithGlobals() as { config?: string }).config ?? defaultAgentConfigPath();

  config
    .command("path")
    .description("print the path of the agent config file: $XDG_CONFIG_HOME/onramp/onramp.yml, else ~/.config/onramp/onramp.yml")
    .action((_: unknown, self: Command) => {
      process.stdout.write(`${pathOf(self)}\n`);
    });

  config
    .command("add-authtoken")
    .description("save the authtoken the edges expect into the config file (created 0600 if missing)")
    .argument("<token>", "the authtoken")
    .action((token: string, _: unknown, self: Command) => {
      if (!/^\S+$/.test(token)) throw new OnrampError(ErrorCode.InvalidArgument, "the authtoken must be non-empty and have no spaces");
      const path = pathOf(self);
      saveAuthtoken(path, token);
      process.stdout.write(`Authtoken saved to ${path}\n`);
    });

  config
    .command("add-edge")
    .description("add an edge's agent address to the edges: list of the config file")
    .argument("<host:port>", "the edge's agent address, e.g. edge.example.com:4443")
    .action((address: string, _: unknown, self: Command) => {
      const problem = edgeAddressProblem(address);
      if (problem) throw new OnrampError(ErrorCode.InvalidArgument, `${JSON.stringify(address)} ${problem}; use e.g. onramp config add-edge edge.example.com:4443`);
      const path = pathOf(self);
      const added = addEdge(path, address);
      process.stdout.write(added ? `Edge ${address} added to ${path}\n` : `Edge ${address} is already in ${path}\n`);
    });

  config
    .command("check")
    .description("validate the config file and every traffic policy it refers to; prints each problem with its position, or ok")
    .action((_: unknown, self: Command) => {
      const path = pathOf(self);
      if (!existsSync(path)) {
        throw new OnrampError(ErrorCode.InvalidArgument, `${path} does not exist; create it with onramp config add-authtoken TOKEN or onramp config add-edge HOST:PORT`);
      }
      const { errors, warnings } = checkAgentConfig(path);
      if (warnings) process.stderr.write(`${warnings}\n`);
      if (errors) {
        process.stdout.write(`${errors}\n`);
        process.exitCode = 1;
        return;
      }
      process.stdout.write("ok\n");
    });
}

