import { type CelEnv, CelScalar, celEnv, celFunc, type CelList, listType, mapType } from "@bufbuild/cel";
import { strings } from "@bufbuild/cel/ext";
import { type CelMeter, meteredEnv, rangeFunction } from "./cel-meter.js";
import { linearReplace } from "./cel-replace.js";
import { cidrContains, parseCidr, parseIp } from "./cidr.js";
import type { ResponseInfo } from "./context.js";
import type { PolicyLimits } from "./policy-limits.js";
import { createRegexCache } from "./regex.js";
import { RegexAllowance } from "./regex-cost.js";
import type { RequestView } from "./request-view.js";

const { STRING, BOOL, DYN } = CelScalar;
const STRING_LIST = listType(STRING);

/** What the request macros read while one expression evaluates. */
export interface MacroScope {
  readonly request: RequestView | undefined;
  readonly response: ResponseInfo | undefined;
}

/**
 * One CEL environment per loaded policy: the standard library, the strings extension, ngrok's
 * request macros and an RE2 cache for `matches()`.
 *
 * The macros (`getReqHeader('x')`) take no request argument, yet CEL functions only see their
 * arguments. Evaluation is synchronous, so `evaluate` points `current` (and `meter`) at the
 * request for the duration of one call; nothing else can run in between.
 */
export interface CelRuntime {
  /** Every function call in it is charged to `meter` (cel-meter.ts). */
  readonly env: CelEnv;
  /** The request the macros read; set only during a synchronous evaluation. */
  current: MacroScope | undefined;
  /** The budget of the phase run being evaluated; undefined while the policy loads. */
  meter: CelMeter | undefined;
  /** Compiled `matches()` patterns; literal ones are added when the policy loads. */
  readonly regexes: ReturnType<typeof createRegexCache>;
  /** Literal patterns counted against `limits.maxRegexSize` while the policy loads. */
  readonly patterns: RegexAllowance;
  readonly limits: PolicyLimits;
  /** Expressions compiled so far, against `limits.maxExpressions`. */
  expressions: number;
}

/** Macros that read the request or the response, for phase checks at load time. */
export const REQUEST_MACROS = new Set(["getReqHeader", "hasReqHeader", "getQueryParam", "hasQueryParam", "getReqCookie", "hasReqCookie"]);
export const RESPONSE_MACROS = new Set(["getResHeader", "hasResHeader"]);

function listOf(values: readonly string[] | undefined): string[] {
  return values ? [...values] : [];
}

export function createCelRuntime(limits: PolicyLimits): CelRuntime {
  const regexes = createRegexCache();
  const rt: Omit<CelRuntime, "env"> & { env: CelEnv | undefined } = {
    env: undefined,
    current: undefined,
    meter: undefined,
    regexes,
    patterns: new RegexAllowance(limits.maxRegexSize),
    limits,
    expressions: 0,
  };
  const request = (): RequestView => {
    if (!rt.current?.request) throw new Error("request macros are only available in HTTP phases");
    return rt.current.request;
  };
  const response = (): ResponseInfo => {
    if (!rt.current?.response) throw new Error("response macros are only available in on_http_response");
    return rt.current.response;
  };
  const cidrMatch = (ip: string, cidrs: Iterable<unknown>): boolean => {
    const addr = parseIp(ip);
    for (const c of cidrs) {
      const cidr = typeof c === "string" ? parseCidr(c) : undefined;
      if (!cidr) throw new Error(`invalid CIDR ${JSON.stringify(c)}`);
      if (addr !== undefined && cidrContains(cidr, addr)) return true;
    }
    return false;
  };
  const funcs = [
    ...strings,
    ...linearReplace,
    rangeFunction,
    celFunc("getReqHeader", [STRING], STRING_LIST, (name) => listOf(request().request.headers.get(name.toLowerCase()))),
    celFunc("hasReqHeader", [STRING], BOOL, (name) => request().request.headers.has(name.toLowerCase())),
    celFunc("getQueryParam", [STRING], STRING_LIST, (name) => listOf(request().queryParams().get(name))),
    celFunc("hasQueryParam", [STRING], BOOL, (name) => request().queryParams().has(name)),
    // ngrok returns a cookie struct; a missing cookie reads as an empty value rather than an
    // evaluation error, so `getReqCookie('s').value == ''` works without a `hasReqCookie` guard.
    celFunc("getReqCookie", [STRING], mapType(STRING, STRING), (name) => ({
      name,
      value: request().cookies().get(name)?.[0] ?? "",
    })),
    celFunc("hasReqCookie", [STRING], BOOL, (name) => request().cookies().has(name)),
    celFunc("getResHeader", [STRING], STRING_LIST, (name) => listOf(response().headers.get(name.toLowerCase()))),
    celFunc("hasResHeader", [STRING], BOOL, (name) => response().headers.has(name.toLowerCase())),
    celFunc("inCidrRange", [STRING, STRING], BOOL, (ip, cidr) => cidrMatch(ip, [cidr])),
    celFunc("inCidrRanges", [STRING, listType(DYN)], BOOL, (ip, cidrs: CelList) => cidrMatch(ip, cidrs)),
  ];
  rt.env = meteredEnv(celEnv({ funcs, re2: regexes }), { meter: () => rt.meter, instructionsOf: (pattern) => regexes.instructionsOf(pattern) });
  return rt as CelRuntime;
}
