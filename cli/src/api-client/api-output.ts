import type { ApiResponse } from "./api-client.js";
import type { ApiSession } from "./api-session.js";
import type { ListResult } from "./list-pages.js";
import { renderDetails, renderTable, text } from "./table.js";
import type { ApiRecord, ResourceView } from "./views.js";

/**
 * What `onramp api` prints. With --json, stdout is the API's body as received, one JSON document
 * (a list read over several pages becomes one document with every item and `next_page_uri: null`).
 * Without, tables and `LABEL   value` lines. Notes go to stderr either way, so stdout is only ever
 * the answer.
 */

export function printList(session: ApiSession, view: ResourceView, result: ListResult): void {
  const { io } = session;
  if (session.json) {
    const [only] = result.pages;
    if (result.pages.length === 1 && only) writeBody(session, only);
    else io.out(`${JSON.stringify({ [view.collection]: result.items, next_page_uri: result.next }, null, 2)}\n`);
  } else if (result.items.length === 0) {
    io.err(`No ${view.plural}.\n`);
  } else {
    io.out(renderTable(view.columns, result.items.filter(isRecord)));
  }
  if (result.next !== null) io.err(`(${result.items.length} shown; there are more: leave out --limit to list them all)\n`);
}

export function printRecord(session: ApiSession, view: ResourceView, response: ApiResponse): void {
  if (session.json) return writeBody(session, response);
  const record = isRecord(response.body) ? response.body : {};
  session.io.out(renderRecord(view, record));
}

/**
 * A new authtoken or API key. The secret goes alone to stdout (`TOKEN=$(onramp api authtokens
 * create …)` captures exactly it); the record and the shown-once note go to stderr. With --json,
 * stdout is the API's body, secret included, and the note still goes to stderr.
 */
export function printCreatedSecret(session: ApiSession, view: ResourceView, response: ApiResponse, secretField: "token" | "key"): void {
  const record = isRecord(response.body) ? response.body : {};
  const note = `This ${view.noun}'s secret is shown only this once: store it now. Onramp keeps only its hash and cannot show it again.\n`;
  if (session.json) {
    writeBody(session, response);
    session.io.err(note);
    return;
  }
  session.io.err(`Created ${view.noun} ${text(record.id)}\n${renderRecord(view, record)}${note}`);
  session.io.out(`${text(record[secretField])}\n`);
}

/** After a DELETE: a confirmation line, or with --json whatever body came (usually none for 204). */
export function printDeleted(session: ApiSession, response: ApiResponse, message: string): void {
  if (session.json) {
    if (response.text !== "") writeBody(session, response);
    return;
  }
  session.io.out(`${message}\n`);
}

function renderRecord(view: ResourceView, record: ApiRecord): string {
  const fields = [...view.columns, ...(view.extra ?? [])].map((c) => [c.header, c.value(record)] as const);
  return renderDetails(fields) + (view.trailer?.(record) ?? "");
}

function writeBody(session: ApiSession, response: ApiResponse): void {
  session.io.out(response.text.endsWith("\n") ? response.text : `${response.text}\n`);
}

function isRecord(value: unknown): value is ApiRecord {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
