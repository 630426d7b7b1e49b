import { CelScalar, celMethod } from "@bufbuild/cel";

const { STRING, INT } = CelScalar;

/**
 * The strings extension's `replace`, in linear time. The extension's own rebuilds the whole string
 * for every occurrence, so `x.replace(',', ' ')` on a 14 KB header with 7,000 commas took 10 ms
 * and 85 ms at twice the size. Results are the extension's exactly, including its reading of an
 * empty `old` (the replacement inserted `n` times at the front, `n` defaulting to the length) and
 * of a negative `n` (nothing replaced). Registered after the extension, so it overrides it.
 */
function replace(this: string, old: string, replacement: string, n?: bigint): string {
  let remaining = n === undefined ? this.length : Number(n);
  if (remaining <= 0) return this;
  if (old === "") return replacement.repeat(remaining) + this;
  let out = "";
  let from = 0;
  for (; remaining > 0; remaining--) {
    const at = this.indexOf(old, from);
    if (at < 0) break;
    out += this.slice(from, at) + replacement;
    from = at + old.length;
  }
  return out + this.slice(from);
}

export const linearReplace = [
  celMethod("replace", STRING, [STRING, STRING], STRING, function (old, replacement) {
    return replace.call(this, old, replacement);
  }),
  celMethod("replace", STRING, [STRING, STRING, INT], STRING, function (old, replacement, n) {
    return replace.call(this, old, replacement, n);
  }),
];
