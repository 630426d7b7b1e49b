import { ErrorCode, OnrampError } from "@onramp/errors";
import { Command, type Option } from "commander";

/** Flags no ONRAMP_* variable sets: --config (each command reads its own kind of file), --all (picks what runs). */
const NOT_FROM_ENVIRONMENT = new Set(["config", "all", "help", "version"]);

/**
 * A command whose subcommands' long flags also read `ONRAMP_<FLAG>` from the environment
 * (`--authtoken` → `ONRAMP_AUTHTOKEN`); a flag on the command line wins. The variable is named as
 * each option is created, because commander listens for environment values only on options that
 * have one when they are added: naming it afterwards, as main.ts once did, silently did nothing.
 */
export class OnrampCommand extends Command {
  constructor(name?: string) {
    super(name);
    // Only the root's hook runs (commander calls the hooks of the command and its ancestors).
    if (name === undefined) this.hook("preAction", (_, action) => refuseFalseSwitches(action));
  }

  override createCommand(name?: string): Command {
    return new OnrampCommand(name);
  }

  override createOption(flags: string, description?: string): Option {
    const option = super.createOption(flags, description);
    const name = option.long?.replace(/^--/, "");
    // Only the commands directly under `onramp` (http, start, edge, …), as documented.
    const topLevel = this.parent !== null && this.parent.parent === null;
    if (topLevel && name && !NOT_FROM_ENVIRONMENT.has(name)) option.env(`ONRAMP_${name.toUpperCase().replace(/-/g, "_")}`);
    return option;
  }
}

/**
 * A flag without a value (`--pooling-enabled`, `--no-http2`) is on whenever its variable is set, whatever the
 * value: commander does not look at it. `ONRAMP_POOLING_ENABLED=false` turning pooling on would be
 * a trap, so such values are refused for the command about to run.
 */
function refuseFalseSwitches(command: Command): void {
  for (const option of command.options) {
    const value = option.envVar === undefined ? undefined : process.env[option.envVar];
    if ((option.isBoolean() || option.negate) && value !== undefined && /^(0|false|no|off)?$/i.test(value.trim())) {
      throw new OnrampError(ErrorCode.InvalidArgument, `${option.envVar}=${value}: ${option.long} is on whenever ${option.envVar} is set; unset it to leave ${option.long} off`);
    }
  }
}
