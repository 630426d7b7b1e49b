import { LineCounter, type Node, type Pair, type YAMLMap, isMap, isScalar, isSeq, parseDocument } from "yaml";
import type { CompiledAction } from "./action-types.js";
import { ACTIONS } from "./actions/registry.js";
import type { CompiledExpr } from "./cel-compile.js";
import { createCelRuntime } from "./cel-env.js";
import { type IpPolicyDefinition, setLoadEnvironment } from "./ip-intelligence-environment.js";
import { NO_IP_INTELLIGENCE } from "./ip-intelligence-types.js";
import type { IpIntelligenceFeatures } from "./ip-intelligence.js";
import { type CompileContext, ConfigReader, readExpression, readString } from "./config-reader.js";
import { Cursor, Diagnostics, type PolicyError, type PolicyPhase, type RuleScope } from "./policy-error.js";
import { type PolicyLimits, resolvePolicyLimits } from "./policy-limits.js";
import { type CompiledRule, type Policy, createPolicy } from "./policy.js";
import type { SecretStore } from "./secrets.js";

/** ngrok's actions Onramp does not have, and why (docs/traffic-policy.md, "Parity with ngrok"). */
const NGROK_ACTIONS_NOT_OFFERED: ReadonlyMap<string, string> = new Map([
  ["saml", "it needs an XML-signature implementation we can trust; use openid-connect"],
  ["owasp-crs-request", "the OWASP Core Rule Set needs a ModSecurity/Coraza engine, which has no maintained JavaScript port"],
  ["owasp-crs-response", "the OWASP Core Rule Set needs a ModSecurity/Coraza engine, which has no maintained JavaScript port"],
]);
import { checkCounts, textSizeProblem } from "./size-checks.js";

export interface LoadPolicyOptions {
  /** Shown in error positions; `policy.yml` when not given. */
  readonly filename?: string;
  /**
   * `cloud`: the policy of a cloud endpoint, which has no upstream of its own, so every request
   * must end in a terminating action. `agent` (default): requests fall through to the agent.
   */
  readonly kind?: "agent" | "cloud";
  /** The edge's region, for `conn.server_region` when the connection does not say. */
  readonly regionName?: string;
  /** Size limits and the per-request CEL budget; DEFAULT_POLICY_LIMITS for what is left out. */
  readonly limits?: Partial<PolicyLimits>;
  /**
   * Which IP intelligence the edge has data for (`IpIntelligence.features`): a policy reading
   * `conn.client_ip.geo`, `.as`, `.categories`… without it fails to load. None when left out.
   */
  readonly ipIntelligence?: IpIntelligenceFeatures;
  /** Named IP policies from the edge config, for restrict-ips `ip_policies`; none when left out. */
  readonly ipPolicies?: Readonly<Record<string, IpPolicyDefinition>>;
  /**
   * What `secrets.get(vault, name)` reads. Given, a reference whose vault and name are literals
   * must exist or the load fails; left out (validating without the edge's secrets), every
   * reference is accepted and reads as "".
   */
  readonly secrets?: SecretStore;
}

export type LoadPolicyResult =
  | { readonly ok: true; readonly policy: Policy; readonly warnings: PolicyError[] }
  | { readonly ok: false; readonly errors: PolicyError[]; readonly warnings: PolicyError[] };

const PHASES: readonly PolicyPhase[] = ["on_tcp_connect", "on_http_request", "on_http_response"];
const RULE_FIELDS = ["name", "expressions", "actions"];
const ACTION_FIELDS = ["type", "config"];

type AnyPair = Pair<Node, Node | null>;

function pairsOf(node: Node | null | undefined): AnyPair[] {
  return isMap(node) ? ((node as YAMLMap<Node, Node | null>).items as AnyPair[]) : [];
}

function keyOf(pair: AnyPair): string {
  return isScalar(pair.key) ? String(pair.key.value) : "";
}

function compileAction(cx: CompileContext, cursor: Cursor, node: Node | null, rule: RuleScope, actionIndex: number): CompiledAction | undefined {
  if (!isMap(node)) {
    cursor.error("an action must be a map with type and config");
    return undefined;
  }
  const pairs = new Map(pairsOf(node).map((p) => [keyOf(p), p]));
  for (const [name, p] of pairs) {
    if (!ACTION_FIELDS.includes(name)) cursor.key(name, p.key).error("unknown action field (expected type, config)");
  }
  const typePair = pairs.get("type");
  const typeCursor = cursor.key("type", typePair?.value, typePair?.key);
  if (!typePair?.value) {
    cursor.key("type", undefined).error("is required");
    return undefined;
  }
  const type = readString(typeCursor, typePair.value);
  if (type === undefined) return undefined;
  const def = ACTIONS.get(type);
  const notOffered = NGROK_ACTIONS_NOT_OFFERED.get(type);
  if (!def && notOffered) {
    typeCursor.error(`${type} is an ngrok action Onramp does not offer: ${notOffered}`);
    return undefined;
  }
  if (!def) {
    typeCursor.error(`unknown action type ${JSON.stringify(type)} (known: ${[...ACTIONS.keys()].join(", ")})`);
    return undefined;
  }
  if (!def.phases.includes(cx.phase)) {
    typeCursor.error(`${type} is not supported in ${cx.phase} (only in ${def.phases.join(", ")})`);
    return undefined;
  }
  const configPair = pairs.get("config");
  const config = ConfigReader.of(cx, cursor.key("config", configPair?.value, configPair?.key), configPair?.value, true);
  if (!config) return undefined;
  return def.compile(config, { phase: cx.phase, ruleIndex: rule.index, ruleName: rule.name, actionIndex });
}

function compileRule(cx: CompileContext, root: Cursor, index: number, node: Node | null): CompiledRule | undefined {
  const namePair = pairsOf(node).find((p) => keyOf(p) === "name");
  const ruleName = isScalar(namePair?.value) && typeof namePair.value.value === "string" ? namePair.value.value : undefined;
  const scope: RuleScope = { phase: cx.phase, index, name: ruleName };
  const cursor = root.enterRule(scope, node);
  if (!isMap(node)) {
    cursor.error("a rule must be a map with name, expressions and actions");
    return undefined;
  }
  const pairs = new Map(pairsOf(node).map((p) => [keyOf(p), p]));
  for (const [name, p] of pairs) {
    if (!RULE_FIELDS.includes(name)) cursor.key(name, p.key).error(`unknown rule field (expected ${RULE_FIELDS.join(", ")})`);
  }
  if (namePair?.value && ruleName === undefined) readString(cursor.key("name", namePair.value), namePair.value);

  const expressions: CompiledExpr[] = [];
  let ok = true;
  const exprPair = pairs.get("expressions");
  if (exprPair?.value && !(isScalar(exprPair.value) && exprPair.value.value === null)) {
    const exprCursor = cursor.key("expressions", exprPair.value);
    if (!isSeq(exprPair.value)) {
      exprCursor.error("must be a list of CEL expressions");
      ok = false;
    } else {
      exprPair.value.items.forEach((item, i) => {
        const compiled = readExpression(cx, exprCursor.index(i, item as Node), item as Node, "bool");
        if (compiled) expressions.push(compiled);
        else ok = false;
      });
    }
  }

  const actions: CompiledAction[] = [];
  const actionsPair = pairs.get("actions");
  const actionsCursor = cursor.key("actions", actionsPair?.value, actionsPair?.key);
  if (!actionsPair?.value || !isSeq(actionsPair.value) || actionsPair.value.items.length === 0) {
    actionsCursor.error(actionsPair?.value && !isSeq(actionsPair.value) ? "must be a list of actions" : "is required and must list at least one action");
    return undefined;
  }
  let terminatedBy: string | undefined;
  actionsPair.value.items.forEach((item, i) => {
    const itemCursor = actionsCursor.index(i, item as Node);
    const action = compileAction(cx, itemCursor, item as Node | null, scope, i);
    if (!action) {
      ok = false;
      return;
    }
    // ngrok accepts actions after a terminating one and never runs them; say so.
    if (terminatedBy) itemCursor.warn(`never runs: ${terminatedBy} before it always ends the chain`);
    if (action.alwaysTerminates) terminatedBy ??= action.type;
    actions.push(action);
  });
  return ok ? { index, name: ruleName, expressions, actions } : undefined;
}

/**
 * Parses, validates and compiles a traffic policy (YAML or JSON). Every problem is reported, each
 * with its phase, rule, field path and line:column; a policy with any error is rejected whole.
 * All CEL is compiled here; running the policy only evaluates. A policy over its size limits is
 * rejected before anything in it is compiled.
 */
export function loadPolicy(source: string, options: LoadPolicyOptions = {}): LoadPolicyResult {
  const limits = resolvePolicyLimits(options.limits);
  const lines = new LineCounter();
  const diag = new Diagnostics(options.filename ?? "policy.yml", source, lines);
  const tooBig = textSizeProblem(source, limits);
  if (tooBig) {
    lines.addNewLine(0);
    diag.add("error", 0, tooBig, "");
    return { ok: false, errors: diag.errors, warnings: diag.warnings };
  }
  const doc = parseDocument(source, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  for (const e of doc.errors) diag.add("error", e.pos[0], `YAML syntax error: ${e.message.split("\n")[0]}`, "");
  if (diag.errors.length > 0) return { ok: false, errors: diag.errors, warnings: diag.warnings };

  const root = Cursor.root(diag);
  const contents = doc.contents as Node | null;
  if (!checkCounts(root, contents, PHASES, limits)) return { ok: false, errors: diag.errors, warnings: diag.warnings };
  const cel = createCelRuntime(limits, [], options.secrets);
  setLoadEnvironment(cel, { ipIntelligence: options.ipIntelligence ?? NO_IP_INTELLIGENCE, ipPolicies: options.ipPolicies ?? {} });
  const phases: Record<PolicyPhase, CompiledRule[]> = { on_tcp_connect: [], on_http_request: [], on_http_response: [] };
  const empty = contents === null || (isScalar(contents) && contents.value === null);
  if (!empty && !isMap(contents)) root.at(contents).error(`a traffic policy must be a map with ${PHASES.join(", ")}`);
  for (const pair of pairsOf(contents)) {
    const name = keyOf(pair);
    const cursor = root.key(name, pair.value, pair.key);
    if (!(PHASES as readonly string[]).includes(name)) {
      cursor.at(pair.key).error(`unknown phase (expected one of ${PHASES.join(", ")})`);
      continue;
    }
    const phase = name as PolicyPhase;
    if (pair.value === null || (isScalar(pair.value) && pair.value.value === null)) continue;
    if (!isSeq(pair.value)) {
      cursor.error("must be a list of rules");
      continue;
    }
    const cx: CompileContext = { cel, phase };
    pair.value.items.forEach((item, i) => {
      const rule = compileRule(cx, root, i, item as Node | null);
      if (rule) phases[phase].push(rule);
    });
  }

  if (options.kind === "cloud" && diag.errors.length === 0) checkCloudPolicy(root, contents, phases.on_http_request);
  if (diag.errors.length > 0) return { ok: false, errors: diag.errors, warnings: diag.warnings };
  const policy = createPolicy(phases, { kind: options.kind ?? "agent", regionName: options.regionName ?? "", celBudget: limits.celBudget, variablePaths: cel.variablePaths });
  return { ok: true, policy, warnings: diag.warnings };
}

/**
 * A cloud endpoint has no upstream: a request that falls off the end of on_http_request has
 * nowhere to go. The check ngrok documents and the simplest sound one: the last rule applies
 * unconditionally and contains an action that always terminates.
 */
function checkCloudPolicy(root: Cursor, contents: Node | null, rules: readonly CompiledRule[]): void {
  const last = rules[rules.length - 1];
  const phasePair = pairsOf(contents).find((p) => keyOf(p) === "on_http_request");
  const message =
    "a cloud endpoint's on_http_request must end with a rule that has no expressions and a terminating action " +
    "(custom-response, deny, redirect without from, forward-internal with on_error: halt, close-connection)";
  if (!last || !phasePair || !isSeq(phasePair.value)) {
    root.at(phasePair?.key ?? contents).error(message);
    return;
  }
  if (last.expressions.length > 0 || !last.actions.some((a) => a.alwaysTerminates)) {
    const node = phasePair.value.items[last.index] as Node;
    root.enterRule({ phase: "on_http_request", index: last.index, name: last.name }, node).error(message);
  }
}
