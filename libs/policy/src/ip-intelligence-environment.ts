import type { Ty } from "./cel-types.js";
import { VARIABLES } from "./cel-variables.js";
import { NO_IP_INTELLIGENCE, clientIpType, legacyGeoType } from "./ip-intelligence-types.js";
import type { IpIntelligenceFeatures } from "./ip-intelligence.js";

/**
 * What the edge offers the policy being loaded, beyond the policy text: which IP intelligence
 * variables have data behind them and which named IP policies exist. loadPolicy records it against
 * the policy's CEL runtime (one per load), where the checker (cel-check.ts) and actions
 * (restrict-ips) find it through the runtime they are already handed.
 */

/** A named IP policy (`ip_policies` in the edge config), referenced by restrict-ips. */
export interface IpPolicyDefinition {
  readonly allow?: readonly string[];
  readonly deny?: readonly string[];
}

export interface LoadEnvironment {
  readonly ipIntelligence: IpIntelligenceFeatures;
  readonly ipPolicies: Readonly<Record<string, IpPolicyDefinition>>;
}

const DEFAULT_ENVIRONMENT: LoadEnvironment = { ipIntelligence: NO_IP_INTELLIGENCE, ipPolicies: {} };
const environments = new WeakMap<object, { env: LoadEnvironment; variables?: Readonly<Record<string, Ty>> }>();

/** Records what the edge offers for the load that compiles with `celRuntime`. */
export function setLoadEnvironment(celRuntime: object, env: Partial<LoadEnvironment>): void {
  environments.set(celRuntime, { env: { ...DEFAULT_ENVIRONMENT, ...env } });
}

export function loadEnvironmentOf(celRuntime: object): LoadEnvironment {
  return environments.get(celRuntime)?.env ?? DEFAULT_ENVIRONMENT;
}

/** The variable declarations for a load: VARIABLES with `conn.client_ip` and `conn.geo` typed for the edge's data. */
export function variablesOf(celRuntime: object): Readonly<Record<string, Ty>> {
  const entry = environments.get(celRuntime);
  if (!entry) return VARIABLES;
  if (!entry.variables) {
    const conn = VARIABLES["conn"];
    const features = entry.env.ipIntelligence;
    entry.variables =
      conn?.kind !== "record"
        ? VARIABLES
        : {
            ...VARIABLES,
            conn: { ...conn, fields: { ...conn.fields, client_ip: clientIpType(features), geo: legacyGeoType(features) } },
          };
  }
  return entry.variables;
}
