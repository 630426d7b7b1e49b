import { stringify } from "yaml";
import { printable, renderTable, shortTime, text, type Column } from "./table.js";

/** A record as the API sends it (snake_case JSON); fields are read defensively, shown as "-" when absent. */
export type ApiRecord = Record<string, unknown>;

/** How one resource shows in `list` (a table) and `get` (its columns and more, one per line). */
export interface ResourceView {
  /** Path segment and list key: `/v1/<collection>` → `{"<collection>": [...]}`. */
  readonly collection: string;
  /** For messages: "authtoken", "reserved domain". */
  readonly noun: string;
  readonly plural: string;
  readonly columns: readonly Column<ApiRecord>[];
  /** Fields `get` shows besides the columns. */
  readonly extra?: readonly Column<ApiRecord>[];
  /** What `get` prints after the fields: a policy, a table of members. */
  readonly trailer?: (record: ApiRecord) => string;
}

const column = (header: string, value: (r: ApiRecord) => string): Column<ApiRecord> => ({ header, value });
const field = (header: string, name: string) => column(header, (r) => text(r[name]));
const time = (header: string, name: string) => column(header, (r) => shortTime(r[name]));
const ID = field("ID", "id");
const DESCRIPTION = field("DESCRIPTION", "description");
const CREATED = time("CREATED", "created_at");
const URI = field("URI", "uri");

export const authtokenView: ResourceView = {
  collection: "authtokens",
  noun: "authtoken",
  plural: "authtokens",
  // No rules means random URLs only (docs/api.md, ACL rules): said so, not left blank.
  columns: [ID, DESCRIPTION, column("ACL", (r) => (Array.isArray(r.acl) && r.acl.length > 0 ? r.acl.map(text).join(",") : "(random URLs only)")), field("PREFIX", "token_prefix"), CREATED],
  extra: [URI],
};

export const reservedDomainView: ResourceView = {
  collection: "reserved_domains",
  noun: "reserved domain",
  plural: "reserved domains",
  columns: [field("NAME", "name"), DESCRIPTION, CREATED],
  extra: [URI],
};

export const cloudEndpointView: ResourceView = {
  collection: "cloud_endpoints",
  noun: "cloud endpoint",
  plural: "cloud endpoints",
  columns: [ID, field("URL", "url"), DESCRIPTION, time("UPDATED", "updated_at")],
  extra: [field("HOST", "host"), CREATED, URI],
  trailer: (r) => `TRAFFIC POLICY\n${indent(policyText(r.traffic_policy))}`,
};

export const apiKeyView: ResourceView = {
  collection: "api_keys",
  noun: "API key",
  plural: "API keys",
  columns: [ID, DESCRIPTION, CREATED],
  extra: [URI],
};

const members = (r: ApiRecord): ApiRecord[] => (Array.isArray(r.members) ? r.members.filter(isRecord) : []);

export const endpointView: ResourceView = {
  collection: "endpoints",
  noun: "endpoint",
  plural: "endpoints",
  // A cloud endpoint has no agents: "-" rather than a misleading 0.
  columns: [ID, field("URL", "url"), field("TYPE", "type"), column("MEMBERS", (r) => (r.type === "cloud" ? "" : String(members(r).length)))],
  extra: [field("POOLING", "pooling")],
  trailer: (r) => {
    const rows = members(r);
    if (rows.length === 0) return "";
    const memberColumns = [field("EDGE", "edge"), field("REGION", "region"), field("AGENT", "agent_id"), field("SESSION", "session_id"), field("UPSTREAM", "upstream"), field("WEIGHT", "weight"), field("HEALTHY", "healthy"), field("LOAD", "load")];
    return `\n${renderTable(memberColumns, rows)}`;
  },
};

export const edgeView: ResourceView = {
  collection: "edges",
  noun: "edge",
  plural: "edges",
  columns: [ID, field("REGION", "region"), field("ADVERTISE", "advertise"), field("SESSIONS", "sessions"), field("BINDINGS", "bindings"), time("HEARTBEAT", "last_heartbeat"), time("STARTED", "started_at")],
  extra: [field("HTTP", "http"), field("VERSION", "version"), URI],
};

/** The policy as stored (YAML or JSON text), or YAML when the API hands back an object. */
function policyText(policy: unknown): string {
  if (typeof policy === "string") return printable(policy);
  if (policy === undefined || policy === null) return "";
  return printable(stringify(policy));
}

function indent(body: string): string {
  return body
    .split("\n")
    .map((line) => (line === "" ? "" : `  ${line}`))
    .join("\n")
    .replace(/\n*$/, "\n");
}

function isRecord(value: unknown): value is ApiRecord {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
