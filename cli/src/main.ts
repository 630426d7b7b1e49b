import { OnrampError } from "@onramp/errors";
import { registerApiCommand } from "./commands/api.js";
import { registerConfigCommand } from "./commands/config.js";
import { registerEdgeCommand } from "./commands/edge.js";
import { registerHttpCommand } from "./commands/http.js";
import { registerPolicyCommand } from "./commands/policy.js";
import { registerRegistryCommand } from "./commands/registry.js";
import { registerStartCommand } from "./commands/start.js";
import { OnrampCommand } from "./onramp-command.js";

// Long flags of every command also read ONRAMP_<FLAG> from the environment (see onramp-command.ts).
const program = new OnrampCommand()
  .name("onramp")
  .description("self-hosted edge mesh: expose local services through edges you run")
  .version("0.1.0")
  .showHelpAfterError();

registerHttpCommand(program);
registerStartCommand(program);
registerEdgeCommand(program);
registerPolicyCommand(program);
registerConfigCommand(program);
registerRegistryCommand(program);
registerApiCommand(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  const message = err instanceof OnrampError ? err.message : err instanceof Error ? err.message : String(err);
  process.stderr.write(`onramp: error: ${message}\n`);
  process.exit(1);
});
