import { normalizeUpstream } from "@onramp/agent";
import { ErrorCode, OnrampError } from "@onramp/errors";
import { isMap, isScalar, isSeq, type Node, type Pair, type YAMLMap } from "yaml";
import { checkBindUrl } from "./bind-url.js";
import { readConfigPolicy, type ConfigPolicy, type ConfigSource } from "./config-policies.js";
import type { ConfigProblems } from "./config-problems.js";
import { parsePoolWeight } from "./units.js";

/** One endpoint of the agent config, checked. */
export interface ConfigEndpoint {
  /** Its key under `endpoints:`; absent in the older list form. */
  readonly name?: string;
  readonly upstream: string;
  readonly url?: string;
  readonly poolingEnabled: boolean;
  readonly poolWeight?: number;
  readonly policy?: ConfigPolicy;
  /** `inspect: false` keeps this endpoint's requests out of the request inspector (bodies with secrets). */
  readonly inspect?: boolean;
}

/**
 * `endpoints:` is a mapping of name → endpoint, as ngrok's `tunnels:` is, so `onramp start web`
 * can pick some. The list form `onramp start --config` took before names existed still works;
 * its endpoints have no names and start together.
 */
export interface ConfigEndpoints {
  readonly named: boolean;
  readonly list: readonly ConfigEndpoint[];
}

const ENDPOINT_KEYS = ["upstream", "url", "pooling_enabled", "pool_weight", "traffic_policy", "traffic_policy_file", "inspect"];

export function readConfigEndpoints(node: Node | null | undefined, source: ConfigSource, problems: ConfigProblems): ConfigEndpoints {
  if (node === undefined || node === null || (isScalar(node) && node.value === null)) return { named: true, list: [] };
  if (isSeq(node)) {
    const list = node.items.flatMap((item, i) => readEndpoint(item as Node, `endpoints[${i}]`, undefined, source, problems) ?? []);
    return { named: false, list };
  }
  if (!isMap(node)) {
    problems.at(node, "endpoints: must be a mapping of name → {upstream, url, …}, e.g. endpoints: {web: {upstream: 3000}}");
    return { named: true, list: [] };
  }
  const list = (node.items as Pair<Node, Node | null>[]).flatMap((pair) => {
    const name = isScalar(pair.key) ? String(pair.key.value ?? "") : "";
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
      problems.at(pair.key, `endpoints: ${JSON.stringify(name)} is not an endpoint name (letters, digits, ".", "_" and "-", so it can be typed after onramp start)`);
      return [];
    }
    return readEndpoint(pair.value, `endpoints.${name}`, name, source, problems) ?? [];
  });
  return { named: true, list };
}

function readEndpoint(node: Node | null, where: string, name: string | undefined, source: ConfigSource, problems: ConfigProblems): ConfigEndpoint | undefined {
  if (!isMap(node)) {
    problems.at(node, `${where}: must be a mapping with upstream and, optionally, ${ENDPOINT_KEYS.slice(1).join(", ")}`);
    return undefined;
  }
  const values = new Map<string, Node | null>();
  for (const pair of (node as YAMLMap<Node, Node | null>).items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : "";
    if (ENDPOINT_KEYS.includes(key)) values.set(key, pair.value);
    else problems.at(pair.key, `${where}: unknown key ${JSON.stringify(key)} (known: ${ENDPOINT_KEYS.join(", ")})`);
  }
  const scalar = (key: string): unknown => {
    const v = values.get(key);
    if (v === undefined || v === null) return undefined;
    if (!isScalar(v)) {
      problems.at(v, `${where}.${key}: must be a single value`);
      return undefined;
    }
    return v.value ?? undefined;
  };

  const upstreamValue = scalar("upstream");
  if (upstreamValue === undefined && !values.has("upstream")) problems.at(node, `${where}.upstream: is required (a port, host:port or URL of the local service)`);
  const upstream = upstreamValue === undefined ? undefined : problems.attempt(values.get("upstream"), () => checkUpstream(String(upstreamValue), `${where}.upstream`));

  const urlValue = scalar("url");
  const url = urlValue === undefined ? undefined : problems.attempt(values.get("url"), () => checkBindUrl(String(urlValue), `${where}.url`, (u) => `url: ${u}`));

  const pooling = scalar("pooling_enabled");
  if (pooling !== undefined && typeof pooling !== "boolean") problems.at(values.get("pooling_enabled"), `${where}.pooling_enabled: must be true or false`);

  const weight = scalar("pool_weight");
  const poolWeight = weight === undefined ? undefined : problems.attempt(values.get("pool_weight"), () => parsePoolWeight(weight, `${where}.pool_weight`));

  const inspect = scalar("inspect");
  if (inspect !== undefined && typeof inspect !== "boolean") problems.at(values.get("inspect"), `${where}.inspect: must be true or false`);

  const policy = readConfigPolicy(source, values.get("traffic_policy"), values.get("traffic_policy_file"), where, problems);
  // With a problem recorded the endpoint is only read for `onramp config check`, which checks its policy too.
  return { name, upstream: upstream ?? "", url, poolingEnabled: pooling === true, poolWeight, policy, inspect: typeof inspect === "boolean" ? inspect : undefined };
}

/** What the agent checks when it binds, checked now so `onramp config check` catches it. */
function checkUpstream(text: string, where: string): string {
  const url = normalizeUpstream(text);
  let protocol: string;
  try {
    protocol = new URL(url).protocol;
  } catch {
    throw new OnrampError(ErrorCode.InvalidArgument, `${where}: ${JSON.stringify(text)} is not a port, host:port or URL`);
  }
  if (protocol !== "http:" && protocol !== "https:") throw new OnrampError(ErrorCode.InvalidArgument, `${where}: scheme ${protocol} is not supported (use http:// or https://)`);
  return url;
}
