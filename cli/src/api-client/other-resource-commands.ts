import type { Command } from "commander";
import { printCreatedSecret, printRecord } from "./api-output.js";
import { openSession, type ApiIo } from "./api-session.js";
import { addDeleteCommand, addGetCommand, addListCommand } from "./resource-commands.js";
import { apiKeyView, edgeView, endpointView, reservedDomainView } from "./views.js";

/** `onramp api reserved-domains reserve|list|get|release`. */
export function registerReservedDomainCommands(api: Command, io: ApiIo): void {
  const domains = api.command("reserved-domains").description("hostnames kept for the tokens whose ACL names them");
  domains
    .command("reserve")
    .description("reserve a hostname (app.example.com) or a wildcard (*.example.com, which also covers deeper names)")
    .argument("<name>", "the hostname or wildcard")
    .option("--description <text>", "what the domain is for")
    .action(async (name: string, flags: { description?: string }, self: Command) => {
      const session = openSession(self, io);
      const body = { name, ...(flags.description === undefined ? {} : { description: flags.description }) };
      printRecord(session, reservedDomainView, await session.call("POST", "/v1/reserved_domains", body));
    });
  addListCommand(domains, reservedDomainView, io);
  addGetCommand(domains, reservedDomainView, io, "<name>");
  addDeleteCommand(domains, reservedDomainView, io, "release", "Released", "release a reserved domain", "<name>");
}

/** `onramp api api-keys create|list|revoke`. */
export function registerApiKeyCommands(api: Command, io: ApiIo): void {
  const keys = api.command("api-keys").description("keys to this API");
  keys
    .command("create")
    .description("create an API key; prints the key (shown only this once) on stdout, the rest on stderr")
    .option("--description <text>", "who or what uses the key")
    .action(async (flags: { description?: string }, self: Command) => {
      const session = openSession(self, io);
      const body = flags.description === undefined ? {} : { description: flags.description };
      printCreatedSecret(session, apiKeyView, await session.call("POST", "/v1/api_keys", body), "key");
    });
  addListCommand(keys, apiKeyView, io);
  addDeleteCommand(keys, apiKeyView, io, "revoke", "Revoked", "revoke an API key: it is refused from the next request on");
}

/** `onramp api endpoints list|get` and `onramp api edges list|get`: the live mesh, read-only. */
export function registerMeshViewCommands(api: Command, io: ApiIo): void {
  const endpoints = api.command("endpoints").description("what the mesh serves now: agent endpoints with their pool members, and cloud endpoints (read-only)");
  addListCommand(endpoints, endpointView, io);
  addGetCommand(endpoints, endpointView, io);
  const edges = api.command("edges").description("the edges of the mesh that are up now (read-only)");
  addListCommand(edges, edgeView, io);
  addGetCommand(edges, edgeView, io);
}
