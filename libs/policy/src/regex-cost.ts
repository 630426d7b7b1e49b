/**
 * What RE2 work costs, in the CEL budget's units (~30 ns each; see cel-meter.ts). RE2 is linear in
 * its input, but the factor is the size of the compiled program: @bufbuild/re2 runs a DFA, and
 * falls back to an NFA that steps every instruction for every character. Measured here, the
 * worst case was ~12 ns per character and instruction, the usual DFA case far below 1 ns.
 * Compiling costs ~1–3 µs per instruction and grows with the square of a long literal's length
 * (a 14,000-character pattern took 170 ms to compile).
 */

/** 8 character·instruction steps per unit: the DFA's cost many times over, ~1/3 of the NFA's worst. */
const STEPS_PER_UNIT = 8;
/** 32 units per instruction compiled (~1.3 µs). */
const COMPILE_UNITS_PER_INSTRUCTION = 32;
/** RE2 refuses a repeat count above 1,000, also when nested repeats multiply. */
const MAX_REPEAT = 1000;

/**
 * An upper bound on the instructions `pattern` compiles to, from its text alone: its length times
 * the product of its repeat counts (`{n}`, `{n,m}`, `{n,}`), at most 1,000. Predictable and
 * cheap, and never below the truth: `[a-z]{1000}` is 11 characters but 1,002 instructions.
 */
export function estimateInstructions(pattern: string): number {
  let product = 1;
  for (const m of pattern.matchAll(/\{(\d+)(?:,(\d*))?\}/g)) {
    product = Math.min(MAX_REPEAT, product * Math.max(1, Number(m[1]), Number(m[2] || 0)));
  }
  return Math.max(1, pattern.length) * product;
}

/** Units to compile `pattern` at request time (a pattern built from request data). */
export function compileUnits(pattern: string): number {
  return estimateInstructions(pattern) * COMPILE_UNITS_PER_INSTRUCTION + Math.ceil((pattern.length * pattern.length) / 32);
}

/** Units to run a program of `instructions` over `chars` characters. */
export function matchUnits(chars: number, instructions: number): number {
  return Math.ceil((chars * instructions) / STEPS_PER_UNIT);
}

/**
 * The literal patterns of one policy (`matches()`, `url-rewrite` and `redirect` `from`), counted
 * against `maxRegexSize` as they compile at load, so that loading stays fast: each distinct
 * pattern counts its estimateInstructions once.
 */
export class RegexAllowance {
  private used = 0;
  private readonly seen = new Set<string>();

  constructor(readonly max: number) {}

  /** A problem message when `pattern` takes the policy over the limit, else undefined. */
  admit(pattern: string): string | undefined {
    if (this.seen.has(pattern)) return undefined;
    this.seen.add(pattern);
    this.used += estimateInstructions(pattern);
    if (this.used <= this.max) return undefined;
    return `the policy's regular expressions are too big: their lengths times their repeat counts add up to more than ${this.max.toLocaleString("en-US")} (limit maxRegexSize)`;
  }
}
