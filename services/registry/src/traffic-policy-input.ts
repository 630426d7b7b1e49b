import { ErrorCode, OnrampError } from "@onramp/errors";
import { formatPolicyErrors, loadPolicy, type PolicyError } from "@onramp/policy";
import { invalidField } from "./input.js";
import type { Reply } from "./route.js";

/** Names the policy text in positions: what the client sent it as. */
const FILENAME = "traffic_policy";

/**
 * The `traffic_policy` of a request as text: YAML or JSON text as is, a JSON object printed with
 * 2-space indents (so the positions of its problems point at something a person can find).
 */
export function policyTextOf(value: unknown): string {
  if (typeof value === "string") {
    if (value.trim() === "") throw invalidField("traffic_policy", "is empty; a cloud endpoint needs a policy that answers every request");
    return value;
  }
  if (typeof value === "object" && value !== null && !Array.isArray(value)) return JSON.stringify(value, null, 2);
  throw invalidField("traffic_policy", "must be YAML or JSON text, or a JSON object");
}

/**
 * Validates a cloud endpoint's policy as the edge will load it (it must end every request with a
 * terminating action). Undefined when it is valid; otherwise the 422 answer listing every
 * problem with its line and column.
 */
export function cloudPolicyProblems(text: string): Reply | undefined {
  const loaded = loadPolicy(text, { kind: "cloud", filename: FILENAME });
  if (loaded.ok) return undefined;
  const count = loaded.errors.length === 1 ? "a problem" : `${loaded.errors.length} problems`;
  const error = new OnrampError(ErrorCode.PolicyInvalid, `the traffic policy has ${count}:\n${formatPolicyErrors(loaded.errors)}`);
  return { kind: "error", error, details: { errors: loaded.errors.map(problemOf) } };
}

function problemOf(e: PolicyError) {
  const rule = e.phase !== undefined && e.ruleIndex !== undefined ? `${e.phase}[${e.ruleIndex}]` : null;
  const field = (rule === null ? e.path : e.field) || null;
  return { message: e.message, line: e.line, column: e.column, rule, field };
}
