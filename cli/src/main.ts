import { OnrampError } from "@onramp/errors";
import { Command } from "commander";
import { registerEdgeCommand } from "./commands/edge.js";
import { registerHttpCommand } from "./commands/http.js";
import { registerPolicyCommand } from "./commands/policy.js";
import { registerStartCommand } from "./commands/start.js";

const program = new Command()
  .name("onramp")
  .description("self-hosted edge mesh: expose local services through edges you run")
  .version("0.1.0")
  .showHelpAfterError();

registerHttpCommand(program);
registerStartCommand(program);
registerEdgeCommand(program);
registerPolicyCommand(program);

// Long flags also read ONRAMP_<FLAG> from the environment (flags win).
for (const command of program.commands) {
  for (const option of command.options) {
    const name = option.long?.replace(/^--/, "");
    if (name && name !== "config") option.env(`ONRAMP_${name.toUpperCase().replace(/-/g, "_")}`);
  }
}

program.parseAsync(process.argv).catch((err: unknown) => {
  const message = err instanceof OnrampError ? err.message : err instanceof Error ? err.message : String(err);
  process.stderr.write(`onramp: error: ${message}\n`);
  process.exit(1);
});
