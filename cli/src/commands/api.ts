import { Option, type Command } from "commander";
import { DEFAULT_API_URL } from "../api-client/api-client.js";
import { processIo, type ApiIo } from "../api-client/api-session.js";
import { registerAuthtokenCommands } from "../api-client/authtoken-commands.js";
import { registerCloudEndpointCommands } from "../api-client/cloud-endpoint-commands.js";
import { registerApiKeyCommands, registerMeshViewCommands, registerReservedDomainCommands } from "../api-client/other-resource-commands.js";

/**
 * `onramp api`: the command-line client of the registry API (docs/api.md). Its flags belong to
 * `api`, so they work before or after the subcommands: `onramp api authtokens list --json`.
 * `--api-url` and `--api-key` also read ONRAMP_API_URL and ONRAMP_API_KEY, as every top-level
 * flag does. `--json` does not read ONRAMP_JSON: it is a choice per invocation, and a switch set
 * from the environment is on whatever its value, so ONRAMP_JSON=0 would have meant JSON.
 */
export function registerApiCommand(program: Command, io: ApiIo = processIo): void {
  const api = program
    .command("api")
    .description("manage authtokens, reserved domains, cloud endpoints and API keys through the registry API; see the mesh's endpoints and edges")
    .option("--api-url <url>", "the registry API: onramp registry --api-addr, or onramp edge's", DEFAULT_API_URL)
    .option("--api-key <key>", "an API key (onramp registry/edge --api-key, or one from onramp api api-keys create)")
    .option("--api-ca <file>", "PEM CA certificate(s) to verify an https:// --api-url with (default: the system CAs)")
    .addOption(new Option("--json", "print the API's JSON answer as is (one document), not tables"))
    .configureHelp({ showGlobalOptions: true });
  registerAuthtokenCommands(api, io);
  registerReservedDomainCommands(api, io);
  registerCloudEndpointCommands(api, io);
  registerApiKeyCommands(api, io);
  registerMeshViewCommands(api, io);
}
