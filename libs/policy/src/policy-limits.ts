import { ErrorCode, OnrampError } from "@onramp/errors";

/**
 * How big a policy may be and how much CEL work one request may cost. An edge loads the policy
 * of any agent that holds an authtoken and runs it for anyone on the internet, so both are capped:
 * a 2.9 MB policy once took 320 MB of edge memory to compile, and one request with a 14 KB header
 * once held the event loop for 30 s inside a nested `exists`. See docs/security.md.
 */
export interface PolicyLimits {
  /**
   * 256 KiB of policy text (UTF-8). A large hand-written policy is a few KB; 256 KiB of CEL
   * compiles in ~0.35 s to ~15 MB of heap, held while the policy is bound (the 2.9 MB policy of
   * the incident: 320 MB).
   */
  readonly maxBytes: number;
  /** 500 rules over all phases: every rule is checked in order on each request. */
  readonly maxRules: number;
  /** 1,000 actions over all rules. */
  readonly maxActions: number;
  /**
   * 1,000 CEL expressions, counting rule expressions, each `${…}` of an interpolated field and
   * each `bucket_key`. Each costs ~0.2 ms to compile and ~3 KB while bound.
   */
  readonly maxExpressions: number;
  /**
   * 250 levels of nesting in one expression: cel-go's default parser recursion limit. Deeper
   * trees (`1 + 1 + … + 1` with thousands of terms) overflow the stack when checked or run.
   */
  readonly maxExpressionDepth: number;
  /**
   * 50,000: the literal regular expressions of the policy (`matches()`, `url-rewrite` and
   * `redirect` `from`), each counted as its length times the product of its repeat counts (an
   * upper bound on its RE2 program), summed. RE2 compiles ~1–3 µs per instruction, so this keeps
   * compiling a policy's patterns under ~0.15 s of the edge's event loop. Each pattern is also at
   * most 4,096 characters long (regex.ts).
   */
  readonly maxRegexSize: number;
  /**
   * 100,000 units of work per phase run: all the CEL one request evaluates in `on_http_request`,
   * say, and the regular expressions of its `url-rewrite` and `redirect`. A unit is about one
   * expression node evaluated, one comprehension element visited or 4 characters handled by a
   * function, 15–40 ns here: 100,000 units are ~3 ms of ordinary CEL, and ~10 ms on the slowest
   * paths measured. A request that needs more fails with POLICY_BUDGET_EXCEEDED (cel-meter.ts).
   */
  readonly celBudget: number;
}

export const DEFAULT_POLICY_LIMITS: PolicyLimits = {
  maxBytes: 256 * 1024,
  maxRules: 500,
  maxActions: 1_000,
  maxExpressions: 1_000,
  maxExpressionDepth: 250,
  maxRegexSize: 50_000,
  celBudget: 100_000,
};

/** The limits with defaults for what `partial` leaves out; a value that is not a positive integer throws, naming it. */
export function resolvePolicyLimits(partial: Partial<PolicyLimits> = {}): PolicyLimits {
  const limits = { ...DEFAULT_POLICY_LIMITS };
  for (const key of Object.keys(DEFAULT_POLICY_LIMITS) as Array<keyof PolicyLimits>) {
    const value = partial[key];
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 1) {
      throw new OnrampError(ErrorCode.InvalidArgument, `policy limits: ${key} must be an integer ≥ 1, got ${String(value)}`);
    }
    limits[key] = value;
  }
  return limits;
}

/**
 * The UTF-8 length of `text`, counting no further than `stopAfter` bytes. A UTF-16 unit never
 * encodes to fewer bytes than one, so a text longer than the limit in units is over it without
 * counting; otherwise the count reads at most `stopAfter` units and copies nothing.
 */
export function utf8LengthUpTo(text: string, stopAfter: number): number {
  if (text.length > stopAfter) return text.length;
  let bytes = 0;
  for (let i = 0; i < text.length && bytes <= stopAfter; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      bytes += 4; // a surrogate pair: one code point of 4 bytes
      i++;
    } else bytes += 3;
  }
  return bytes;
}

/** `262144` → `256 KiB`, for messages. */
export function formatBytes(n: number): string {
  if (n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n.toLocaleString("en-US")} bytes`;
}
