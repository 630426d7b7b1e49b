import { isCelList } from "@bufbuild/cel";
import { type ActionDefinition, NEXT } from "../action-types.js";
import { type CompiledExpr } from "../cel-compile.js";
import { celToString } from "../cel-values.js";
import { readExpression } from "../config-reader.js";
import { formatDuration } from "../duration.js";
import { evaluateExpr } from "../interpolation.js";
import { engineResponse } from "../outcome.js";

/**
 * `rate-limit`: counts requests per bucket (the values of the `bucket_key` expressions) in a
 * sliding window of `rate`, refusing with 429 and `Retry-After` once `capacity` is used up.
 *
 * Unlike ngrok (windows of 60 s to 24 h in steps of 10 s), any window from 1 s is accepted:
 * "10 per second" is a common API limit and needs no rounding up to a minute.
 */
export const rateLimit: ActionDefinition = {
  type: "rate-limit",
  phases: ["on_http_request"],
  compile(config, site) {
    const name = config.string("name");
    const enforce = config.bool("enforce", true);
    config.string("algorithm", { required: true, oneOf: ["sliding_window"] });
    const capacity = config.int("capacity", { required: true, min: 1, max: 2_000_000_000 });
    const windowMs = config.duration("rate", { required: true, min: 1000, max: 86_400_000 });
    const keyItems = config.list("bucket_key") ?? [];
    config.finish();
    const keys: CompiledExpr[] = [];
    for (const item of keyItems) {
      const expr = readExpression(config.cx, item.cursor, item.value);
      if (expr) keys.push(expr);
    }
    if (capacity === undefined || windowMs === undefined || keys.length !== keyItems.length) return undefined;
    const label = name ?? `${site.phase}[${site.ruleIndex}].actions[${site.actionIndex}]`;
    // The store key made last: a client's requests come in runs, and reusing the same string
    // spares building and hashing a new one (its hash is kept with it) at every request.
    let last = { url: "", bucketKey: "", storeKey: "" };
    return {
      type: "rate-limit",
      alwaysTerminates: false,
      run(x) {
        let bucketKey = "";
        for (let i = 0; i < keys.length; i++) {
          const v = evaluateExpr(keys[i] as CompiledExpr, x.scope);
          if (i > 0) bucketKey += "|";
          bucketKey += isCelList(v) ? Array.from(v, (e) => celToString(e)).join(",") : celToString(v);
        }
        // Buckets belong to one endpoint and one action; two endpoints sharing a policy text
        // do not share counts.
        const url = x.ctx.endpoint.url;
        if (last.url !== url || last.bucketKey !== bucketKey) last = { url, bucketKey, storeKey: `${url}\u0000${label}\u0000${bucketKey}` };
        const storeKey = last.storeKey;
        const d = x.rt.rateLimits.hit(storeKey, capacity, windowMs, x.rt.now());
        x.setResult("rate_limit", { bucket_key: bucketKey, limited: !d.allowed, remaining: BigInt(d.remaining) });
        if (d.allowed || !enforce) return NEXT;
        const retryAfter = String(Math.max(1, Math.ceil(d.retryAfterMs / 1000)));
        return {
          kind: "respond",
          response: engineResponse(
            429,
            "RATE_LIMITED",
            `Too many requests: the limit is ${capacity} per ${formatDuration(windowMs)}. Retry after ${retryAfter} s.`,
            [["retry-after", retryAfter]],
          ),
        };
      },
    };
  },
};
