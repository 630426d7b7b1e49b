import { isScalar } from "yaml";
import { type ActionDefinition, NEXT } from "../action-types.js";
import { CircuitBreaker } from "../circuit-breaker.js";
import type { ConfigReader } from "../config-reader.js";
import { engineResponse } from "../outcome.js";

/** `error_threshold` as a fraction (`0.5`) or a percentage string (`"50%"`). */
function readThreshold(config: ConfigReader): number | undefined {
  const n = config.node("error_threshold");
  if (n && isScalar(n.value) && typeof n.value.value === "string") {
    const m = /^(\d+(?:\.\d+)?)\s*%$/.exec(n.value.value);
    const pct = m ? Number(m[1]) : Number.NaN;
    if (pct >= 0 && pct <= 100) return pct / 100;
    n.cursor.error(`must be a number between 0.0 and 1.0 or a percentage like "50%", got ${JSON.stringify(n.value.value)}`);
    return undefined;
  }
  return config.number("error_threshold", { min: 0, max: 1 });
}

/**
 * `circuit-breaker`: answers 503 while the upstream's recent error rate (5xx or no response) is at
 * or above `error_threshold`. Defaults are ngrok's: 50 % over 10 s with at least 10 requests,
 * tripped for 10 s, 10 buckets. The edge reports each admitted request's result through the
 * outcome's `circuitBreakers` tickets.
 */
export const circuitBreaker: ActionDefinition = {
  type: "circuit-breaker",
  phases: ["on_http_request"],
  compile(config) {
    const errorThreshold = readThreshold(config) ?? 0.5;
    const volumeThreshold = config.int("volume_threshold", { min: 1, max: 2_000_000_000 }) ?? 10;
    const windowMs = config.duration("window_duration", { min: 1000, max: 120_000 }) ?? 10_000;
    const trippedDurationMs = config.duration("tripped_duration", { min: 1000, max: 120_000 }) ?? 10_000;
    const numBuckets = config.int("num_buckets", { min: 1, max: 128 }) ?? 10;
    const enforce = config.bool("enforce", true);
    config.finish();
    // One breaker per action per loaded policy: its state lives as long as the policy version.
    const breaker = new CircuitBreaker({ errorThreshold, volumeThreshold, windowMs, trippedDurationMs, numBuckets });
    return {
      type: "circuit-breaker",
      alwaysTerminates: false,
      run(x) {
        if (!enforce) return NEXT;
        const rt = x.rt;
        const admission = breaker.admit(rt.now());
        if (!admission.admitted) {
          const retryAfter = String(Math.max(1, Math.ceil(admission.retryAfterMs / 1000)));
          return {
            kind: "respond",
            response: engineResponse(503, "CIRCUIT_OPEN", "Service temporarily unavailable: too many upstream errors.", [
              ["retry-after", retryAfter],
            ]),
          };
        }
        let settled = false;
        x.circuitBreakers.push({
          settle(result) {
            if (settled) return;
            settled = true;
            breaker.record(rt.now(), result === "error" || result >= 500, admission.probe);
          },
        });
        return NEXT;
      },
    };
  },
};
