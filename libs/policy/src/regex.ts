import { RE2JS } from "@bufbuild/re2";

/**
 * RE2 regular expressions: linear time in the input whatever the pattern, so a tenant's
 * `'aaaa…!'.matches('^(a+)+$')` or url-rewrite `from` cannot hang an edge (JS `RegExp` backtracks
 * and took seconds on that input). `@bufbuild/re2` only answers yes/no; the replacement actions
 * (`url-rewrite`, `redirect`) need capture groups, so `exec` runs a Pike VM over the same
 * compiled program — still one pass, threads bounded by the program size.
 */
export interface Regex {
  readonly source: string;
  /** Unanchored search, like CEL `matches()` and Go's `MatchString`. */
  test(input: string): boolean;
  /** First match at or after `from`: `[start, end, g1start, g1end, …]`, -1 for unset groups. */
  exec(input: string, from?: number): number[] | null;
  /** Go `ReplaceAllString`: every non-overlapping match replaced by `template` with `$1`/`${name}` expanded. */
  replaceAll(input: string, template: string): string;
}

export type RegexCompileResult = { ok: true; regex: Regex } | { ok: false; message: string };

export function compileRegex(pattern: string): RegexCompileResult {
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, message: `invalid RE2 regular expression: ${message}` };
  }
  return { ok: true, regex: new Re2Regex(pattern, re) };
}

/**
 * A bounded cache of compiled patterns for CEL `matches()`; literal patterns are compiled when
 * the policy loads and dynamic ones once per distinct pattern, never once per evaluation.
 * 512: far more distinct literals than any policy has, small enough to bound memory when a
 * pattern is built from request data.
 */
export function createRegexCache(max = 512): { compile(pattern: string): { test(text: string): boolean } } {
  const cache = new Map<string, RE2JS>();
  return {
    compile(pattern) {
      let re = cache.get(pattern);
      if (re === undefined) {
        re = RE2JS.compile(pattern);
        if (cache.size >= max) cache.delete(cache.keys().next().value as string);
        cache.set(pattern, re);
      }
      return re;
    },
  };
}

// Instruction opcodes of @bufbuild/re2's compiled program (Inst.js); the class is not exported.
const ALT = 1;
const ALT_MATCH = 2;
const CAPTURE = 3;
const EMPTY_WIDTH = 4;
const MATCH = 6;
const NOP = 7;
const EMPTY_BEGIN_LINE = 0x01;
const EMPTY_END_LINE = 0x02;
const EMPTY_BEGIN_TEXT = 0x04;
const EMPTY_END_TEXT = 0x08;
const EMPTY_WORD_BOUNDARY = 0x10;
const EMPTY_NO_WORD_BOUNDARY = 0x20;

interface Inst {
  op: number;
  out: number;
  arg: number;
  matchRune(r: number): boolean;
}

interface Thread {
  pc: number;
  caps: number[];
}

function isWordRune(r: number): boolean {
  return (r >= 0x61 && r <= 0x7a) || (r >= 0x41 && r <= 0x5a) || (r >= 0x30 && r <= 0x39) || r === 0x5f;
}

function emptyContext(before: number, after: number): number {
  let flags = 0;
  if (before < 0) flags |= EMPTY_BEGIN_TEXT | EMPTY_BEGIN_LINE;
  if (before === 0x0a) flags |= EMPTY_BEGIN_LINE;
  if (after < 0) flags |= EMPTY_END_TEXT | EMPTY_END_LINE;
  if (after === 0x0a) flags |= EMPTY_END_LINE;
  flags |= isWordRune(before) !== isWordRune(after) ? EMPTY_WORD_BOUNDARY : EMPTY_NO_WORD_BOUNDARY;
  return flags;
}

class Re2Regex implements Regex {
  private readonly insts: Inst[];
  private readonly start: number;
  private readonly ncap: number;
  private readonly named: Map<string, number>;

  constructor(
    readonly source: string,
    private readonly re: RE2JS,
  ) {
    const prog = re.re2Input.prog;
    this.insts = prog.inst as unknown as Inst[];
    this.start = prog.start;
    this.ncap = Math.max(2, (re.groupCount() + 1) * 2);
    this.named = re.namedGroups();
  }

  test(input: string): boolean {
    return this.re.test(input);
  }

  exec(input: string, from = 0): number[] | null {
    const ncap = this.ncap;
    let clist: Thread[] = [];
    let nlist: Thread[] = [];
    let cseen = new Set<number>();
    let nseen = new Set<number>();
    let matched: number[] | null = null;
    let pos = from;
    let prev = from > 0 ? (input.codePointAt(from - 1) ?? -1) : -1;
    for (;;) {
      const rune = pos < input.length ? (input.codePointAt(pos) ?? -1) : -1;
      const width = rune > 0xffff ? 2 : 1;
      if (matched === null) {
        const caps = new Array<number>(ncap).fill(-1);
        caps[0] = pos;
        this.add(clist, cseen, this.start, caps, emptyContext(prev, rune), pos);
      }
      if (clist.length === 0) break;
      const nextRune = pos + width < input.length ? (input.codePointAt(pos + width) ?? -1) : -1;
      for (const t of clist) {
        const inst = this.insts[t.pc] as Inst;
        if (inst.op === MATCH) {
          matched = t.caps.slice();
          matched[1] = pos;
          break; // lower-priority threads lose to this match (leftmost-first, like Perl and Go)
        }
        if (rune >= 0 && inst.matchRune(rune)) {
          this.add(nlist, nseen, inst.out, t.caps, emptyContext(rune, nextRune), pos + width);
        }
      }
      if (rune < 0) break;
      [clist, nlist] = [nlist, []];
      [cseen, nseen] = [nseen, new Set<number>()];
      prev = rune;
      pos += width;
    }
    return matched;
  }

  private add(list: Thread[], seen: Set<number>, pc: number, caps: number[], ctx: number, pos: number): void {
    if (seen.has(pc)) return;
    seen.add(pc);
    const inst = this.insts[pc] as Inst;
    switch (inst.op) {
      case ALT:
      case ALT_MATCH:
        this.add(list, seen, inst.out, caps, ctx, pos);
        this.add(list, seen, inst.arg, caps, ctx, pos);
        return;
      case NOP:
        this.add(list, seen, inst.out, caps, ctx, pos);
        return;
      case CAPTURE: {
        const next = inst.arg < caps.length ? caps.slice() : caps;
        if (inst.arg < caps.length) next[inst.arg] = pos;
        this.add(list, seen, inst.out, next, ctx, pos);
        return;
      }
      case EMPTY_WIDTH:
        if ((inst.arg & ~ctx) === 0) this.add(list, seen, inst.out, caps, ctx, pos);
        return;
      default:
        list.push({ pc, caps });
    }
  }

  replaceAll(input: string, template: string): string {
    let out = "";
    let last = 0;
    let searchFrom = 0;
    let lastMatchEnd = -1;
    while (searchFrom <= input.length) {
      const m = this.exec(input, searchFrom);
      if (m === null) break;
      const [s = 0, e = 0] = m;
      // Go skips an empty match that abuts the previous match.
      if (!(s === e && s === lastMatchEnd)) {
        out += input.slice(last, s) + this.expand(template, input, m);
        last = e;
      }
      lastMatchEnd = e;
      searchFrom = e > s ? e : e + ((input.codePointAt(e) ?? 0) > 0xffff ? 2 : 1);
    }
    return out + input.slice(last);
  }

  /** Go `Regexp.Expand`: `$1`, `${1}`, `$name`, `${name}`, `$$`; names are the longest `\w+` run. */
  private expand(template: string, input: string, m: number[]): string {
    return template.replace(/\$(?:\$|\{(\w+)\}|(\w+))/g, (whole, braced?: string, bare?: string) => {
      if (whole === "$$") return "$";
      const name = braced ?? bare ?? "";
      const index = /^\d+$/.test(name) ? Number(name) : this.named.get(name);
      if (index === undefined) return "";
      const s = m[2 * index];
      const e = m[2 * index + 1];
      return s === undefined || e === undefined || s < 0 ? "" : input.slice(s, e);
    });
  }
}
