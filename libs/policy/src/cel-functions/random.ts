import { getRandomValues, randomBytes, randomInt } from "node:crypto";

/**
 * `rand.double()` and `rand.int()`, from node:crypto (better than ngrok needs; costs ~1 µs a call).
 */

const TWO_48 = 2 ** 48;

const words = new Uint32Array(2);

/** `rand.double()`: uniform in [0, 1), 53 random bits (all a double's mantissa holds). */
export function randDouble(): number {
  getRandomValues(words);
  return (words[0]! * 2 ** 21 + (words[1]! >>> 11)) / 2 ** 53;
}

/**
 * `rand.int(min, max)`: uniform in [min, max], both ends included (`rand.int()` is 0 or 1, as
 * ngrok's `rand.int() == 1` example implies). Negative bounds, or min > max, are errors.
 */
export function randInt(min = 0n, max = 1n): bigint {
  if (min < 0n || max < 0n) throw new Error(`rand.int: only supports non-negative bounds, got (${min}, ${max})`);
  if (min > max) throw new Error(`rand.int: min (${min}) must not be larger than max (${max})`);
  const span = max - min + 1n; // at most 2^63
  if (span < BigInt(TWO_48)) return min + BigInt(randomInt(0, Number(span)));
  // Rejection sampling over 64-bit words: unbiased, and fewer than 2 draws on average.
  const limit = (1n << 64n) - ((1n << 64n) % span);
  for (;;) {
    const x = randomBytes(8).readBigUInt64BE();
    if (x < limit) return min + (x % span);
  }
}
