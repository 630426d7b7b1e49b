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
  /**
   * First match at or after `from`: `[start, end, g1start, g1end, …]`, -1 for unset groups.
   * `work` hears the work done as it goes (see RegexWork) and may throw to stop it.
   */
  exec(input: string, from?: number, work?: RegexWork): number[] | null;
  /** Go `ReplaceAllString`: every non-overlapping match replaced by `template` with `$1`/`${name}` expanded. */
  replaceAll(input: string, template: string, work?: RegexWork): string;
  /** The compiled program's size: running it costs up to this many steps per character. */
  readonly instructions: number;
}

/**
 * Told the work of a capture search in units of the policy's budget: one per thread stepped over
 * a character (~20 ns) and four per character (its allocations), and 20 for each search started
 * (~600 ns). Called at
 * least every 4,096 units, so a caller can stop a long search midway by throwing.
 */
export type RegexWork = (units: number) => void;
const SEARCH_UNITS = 20;
const REPORT_EVERY = 4096;

export type RegexCompileResult = { ok: true; regex: Regex } | { ok: false; message: string };

/** 4,096: RE2's parser here takes time in the square of a pattern's length (14,000 characters: 170 ms). */
export const MAX_PATTERN_LENGTH = 4096;

export function compileRegex(pattern: string): RegexCompileResult {
  if (pattern.length > MAX_PATTERN_LENGTH) {
    return { ok: false, message: `the regular expression is ${pattern.length} characters long; at most ${MAX_PATTERN_LENGTH} are allowed` };
  }
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    return { ok: false, message: `invalid RE2 regular expression: ${message}` };
  }
  return { ok: true, regex: new Re2Regex(pattern, re) };
}

/** Compiled `matches()` patterns of one policy. */
export interface RegexCache {
  compile(pattern: string): { test(text: string): boolean };
  /** The program size of `pattern` if it is compiled and kept, else undefined (it would compile on use). */
  instructionsOf(pattern: string): number | undefined;
  /** Patterns kept, and their total program size. */
  readonly size: number;
  readonly instructions: number;
}

/**
 * A bounded cache of compiled patterns for CEL `matches()`; literal patterns are compiled when
 * the policy loads and dynamic ones once per distinct pattern, never once per evaluation. The
 * least recently used pattern goes first when either bound is reached.
 *
 * @param maxEntries 512: far more distinct literals than any policy has.
 * @param maxInstructions 200,000 program instructions in all: memory grows with the program, and a
 *   pattern built from request data can be as long as a header, so a count alone would let one
 *   policy hold hundreds of MB. A bigger program is compiled for each use, not kept.
 */
export function createRegexCache(maxEntries = 512, maxInstructions = 200_000): RegexCache {
  const cache = new Map<string, { re: RE2JS; instructions: number }>();
  let total = 0;
  return {
    get size() {
      return cache.size;
    },
    get instructions() {
      return total;
    },
    instructionsOf(pattern) {
      return cache.get(pattern)?.instructions;
    },
    compile(pattern) {
      const hit = cache.get(pattern);
      if (hit !== undefined) {
        cache.delete(pattern);
        cache.set(pattern, hit);
        return hit.re;
      }
      const re = RE2JS.compile(pattern);
      const instructions = programOf(re).inst.length;
      if (instructions > maxInstructions) return re;
      for (const [oldest, entry] of cache) {
        if (cache.size < maxEntries && total + instructions <= maxInstructions) break;
        cache.delete(oldest);
        total -= entry.instructions;
      }
      cache.set(pattern, { re, instructions });
      total += instructions;
      return re;
    },
  };
}

/** The compiled program inside an `RE2JS`; the package does not export its type. */
function programOf(re: RE2JS): { inst: unknown[]; start: number } {
  return re.re2Input.prog as unknown as { inst: unknown[]; start: number };
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
    const prog = programOf(re);
    this.insts = prog.inst as Inst[];
    this.start = prog.start;
    this.ncap = Math.max(2, (re.groupCount() + 1) * 2);
    this.named = re.namedGroups();
  }

  get instructions(): number {
    return this.insts.length;
  }

  test(input: string): boolean {
    return this.re.test(input);
  }

  exec(input: string, from = 0, work?: RegexWork): number[] | null {
    const ncap = this.ncap;
    let units = SEARCH_UNITS;
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
      units += clist.length + 4;
      if (units >= REPORT_EVERY && work) {
        work(units);
        units = 0;
      }
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
    work?.(units);
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

  replaceAll(input: string, template: string, work?: RegexWork): string {
    let out = "";
    let last = 0;
    let searchFrom = 0;
    let lastMatchEnd = -1;
    while (searchFrom <= input.length) {
      const m = this.exec(input, searchFrom, work);
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
