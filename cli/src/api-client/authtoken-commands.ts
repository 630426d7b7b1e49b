import { ErrorCode, OnrampError } from "@onramp/errors";
import type { Command } from "commander";
import { printCreatedSecret, printRecord } from "./api-output.js";
import { openSession, pathSegment, type ApiIo } from "./api-session.js";
import { addDeleteCommand, addGetCommand, addListCommand, collectList } from "./resource-commands.js";
import { authtokenView } from "./views.js";

const ACL_HELP = "an ACL rule: bind:HOST, bind:*.DOMAIN or bind:* (repeat, or comma-separate); none means random URLs only";

interface AuthtokenFlags {
  description?: string;
  acl?: string[];
  clearAcl?: boolean;
}

/** `onramp api authtokens create|list|get|update|revoke`. */
export function registerAuthtokenCommands(api: Command, io: ApiIo): void {
  const tokens = api.command("authtokens").description("authtokens agents connect with, and the hosts their ACL lets them bind");

  tokens
    .command("create")
    .description("create an authtoken; prints its secret (shown only this once) on stdout, the rest on stderr")
    .option("--description <text>", "what the token is for (at most 255 characters)")
    .option("--acl <rule>", ACL_HELP, collectList)
    .action(async (flags: AuthtokenFlags, self: Command) => {
      const session = openSession(self, io);
      const body = { ...(flags.description === undefined ? {} : { description: flags.description }), ...(flags.acl === undefined ? {} : { acl: flags.acl }) };
      printCreatedSecret(session, authtokenView, await session.call("POST", "/v1/authtokens", body), "token");
    });

  addListCommand(tokens, authtokenView, io);
  addGetCommand(tokens, authtokenView, io);

  tokens
    .command("update")
    .description("change an authtoken's description or ACL (the flags given; the rest stays); binds from then on are checked against the new ACL")
    .argument("<id>", "the authtoken's id")
    .option("--description <text>", "the new description")
    .option("--acl <rule>", `${ACL_HELP}; replaces every rule`, collectList)
    .option("--clear-acl", "remove every rule: the token may then bind random URLs only")
    .action(async (id: string, flags: AuthtokenFlags, self: Command) => {
      if (flags.acl !== undefined && flags.clearAcl) throw new OnrampError(ErrorCode.InvalidArgument, "--acl and --clear-acl contradict each other; give one");
      const acl = flags.clearAcl ? [] : flags.acl;
      if (flags.description === undefined && acl === undefined) {
        throw new OnrampError(ErrorCode.InvalidArgument, "nothing to update: give --description, --acl or --clear-acl");
      }
      const session = openSession(self, io);
      const body = { ...(flags.description === undefined ? {} : { description: flags.description }), ...(acl === undefined ? {} : { acl }) };
      printRecord(session, authtokenView, await session.call("PATCH", `/v1/authtokens/${pathSegment(id)}`, body));
    });

  addDeleteCommand(tokens, authtokenView, io, "revoke", "Revoked", "revoke an authtoken: edges close its sessions within a second and refuse it from then on");
}
