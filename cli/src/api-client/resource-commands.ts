import type { Command } from "commander";
import { printDeleted, printList, printRecord } from "./api-output.js";
import { openSession, parseLimit, pathSegment, type ApiIo } from "./api-session.js";
import type { ResourceView } from "./views.js";

/** The verbs every resource shares, so each behaves the same: list, get, and a delete under its own verb. */

export function addListCommand(parent: Command, view: ResourceView, io: ApiIo): Command {
  return parent
    .command("list")
    .description(`list ${view.plural} (every page, or one page with --limit)`)
    .option("--limit <n>", "one page of at most n (1-1000) instead of everything", parseLimit)
    .action(async (flags: { limit?: number }, self: Command) => {
      const session = openSession(self, io);
      printList(session, view, await session.list(view.collection, flags.limit));
    });
}

export function addGetCommand(parent: Command, view: ResourceView, io: ApiIo, argument = "<id>"): Command {
  return parent
    .command("get")
    .description(`show one ${view.noun}`)
    .argument(argument, `the ${view.noun}'s ${argument.replace(/[<>]/g, "")}`)
    .action(async (id: string, _: unknown, self: Command) => {
      const session = openSession(self, io);
      printRecord(session, view, await session.call("GET", `/v1/${view.collection}/${pathSegment(id)}`));
    });
}

/** `verb` is what the user types (`revoke`, `release`, `delete`); `past` is what it printed (`Revoked`). */
export function addDeleteCommand(parent: Command, view: ResourceView, io: ApiIo, verb: string, past: string, description: string, argument = "<id>"): Command {
  return parent
    .command(verb)
    .description(description)
    .argument(argument, `the ${view.noun}'s ${argument.replace(/[<>]/g, "")}`)
    .action(async (id: string, _: unknown, self: Command) => {
      const session = openSession(self, io);
      const response = await session.call("DELETE", `/v1/${view.collection}/${pathSegment(id)}`);
      printDeleted(session, response, `${past} ${view.noun} ${id}`);
    });
}

/** `--acl a --acl b,c` → ["a", "b", "c"]. */
export function collectList(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(",").map((v) => v.trim()).filter((v) => v !== "")];
}
