import { type CelEnv, type CelFunc, CelScalar, celEnv, celFunc, type CelList, listType, mapType } from "@bufbuild/cel";
import { ngrokFunctions } from "./cel-functions/index.js";
import { strings } from "@bufbuild/cel/ext";
import { type CelMeter, meteredEnv, rangeFunction } from "./cel-meter.js";
import type { VariablePath } from "./cel-path-read.js";
import { linearReplace } from "./cel-replace.js";
import { cidrContains, parseCidr, parseIp } from "./cidr.js";
import type { ConnInfo, ResponseInfo } from "./context.js";
import type { PolicyLimits } from "./policy-limits.js";
import { createRegexCache } from "./regex.js";
import { RegexAllowance } from "./regex-cost.js";
import { type RequestView, responseCookies } from "./request-view.js";
import { type ResponseCookie, missingCookie } from "./set-cookie.js";
import { type SecretStore, secretsFunction } from "./secrets.js";
import { sortByFunctions } from "./cel-sort-by.js";

const { STRING, BOOL, DYN } = CelScalar;
const STRING_LIST = listType(STRING);

/** What the request macros read while one expression evaluates. */
export interface MacroScope {
  readonly request: RequestView | undefined;
  readonly response: ResponseInfo | undefined;
  /** The connection and `vars.*` the variables read, for cel-fast-eval.ts's direct reads; absent, it reads through the variables. */
  readonly conn?: ConnInfo;
  readonly vars?: Map<string, unknown>;
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
  /** What `secrets.get` reads; undefined when the loader was given none (every secret reads as ""). */
  readonly secrets: SecretStore | undefined;
  /** The variable paths the policy's expressions read inside larger expressions, by dotted name (cel-path-read.ts). */
  readonly variablePaths: Map<string, VariablePath>;
  /** The names of the functions in the function tables (and `extraFuncs`), which may replace built-in ones; cel-fast-eval.ts leaves them to CEL. */
  readonly replacedFunctions: ReadonlySet<string>;
}

/** Macros that read the request or the response, for phase checks at load time. */
export const REQUEST_MACROS = new Set(["getReqHeader", "hasReqHeader", "getQueryParam", "hasQueryParam", "getReqCookie", "hasReqCookie"]);
export const RESPONSE_MACROS = new Set(["getResHeader", "hasResHeader", "getResCookie", "hasResCookie"]);

/**
 * Function tables added to every policy's CEL environment, after the built-in functions (so an
 * entry replaces a built-in one with the same name and signature). Each entry is a `CelFunc`
 * made with `celFunc` or `celMethod` from "@bufbuild/cel"; a name may be dotted —
 * `celFunc("base64.decode", [STRING], BYTES, impl)` is called as `base64.decode(x)`, and the
 * load-time checker (cel-check.ts) types its arguments and result like any other function's.
 * Add a table with one line; a later table's function replaces an earlier one with the same name
 * and argument types.
 */
export const FUNCTION_TABLES: ReadonlyArray<readonly CelFunc[]> = [ngrokFunctions, sortByFunctions];

/**
 * A cookie as a CEL map. Its timestamp and duration fields are reflected messages, which CEL takes
 * in a map at run time but which @bufbuild/cel's input type for `dyn` values leaves out.
 */
function cookieValue(cookie: ResponseCookie): Record<string, string> {
  return cookie as unknown as Record<string, string>;
}

function listOf(values: readonly string[] | undefined): string[] {
  return values ? [...values] : [];
}

/** `extraFuncs`: functions for this runtime only (tests), after `FUNCTION_TABLES`. */
export function createCelRuntime(limits: PolicyLimits, extraFuncs: readonly CelFunc[] = [], secrets?: SecretStore): CelRuntime {
  const regexes = createRegexCache();
  const rt: Omit<CelRuntime, "env"> & { env: CelEnv | undefined } = {
    env: undefined,
    current: undefined,
    meter: undefined,
    regexes,
    patterns: new RegexAllowance(limits.maxRegexSize),
    limits,
    expressions: 0,
    secrets,
    variablePaths: new Map(),
    replacedFunctions: new Set([...FUNCTION_TABLES.flat(), ...extraFuncs].map((f) => f.name)),
  };
  const request = (): RequestView => {
    if (!rt.current?.request) throw new Error("request macros are only available in HTTP phases");
    return rt.current.request;
  };
  const response = (): ResponseInfo => {
    if (!rt.current?.response) throw new Error("response macros are only available in on_http_response");
    return rt.current.response;
  };
  // Like ngrok, a range that is not a valid CIDR (literal ones fail the load) matches nothing.
  const cidrMatch = (ip: string, cidrs: Iterable<unknown>): boolean => {
    const addr = parseIp(ip);
    if (addr === undefined) return false;
    for (const c of cidrs) {
      const cidr = typeof c === "string" ? parseCidr(c) : undefined;
      if (cidr !== undefined && cidrContains(cidr, addr)) return true;
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
    // As in ngrok, the cookie with the longest path when several share the name; like
    // getReqCookie, a missing one reads as empty fields rather than an evaluation error.
    celFunc("getResCookie", [STRING], mapType(STRING, DYN), (name) => cookieValue(responseCookies(response()).get(name)?.[0] ?? missingCookie(name))),
    celFunc("hasResCookie", [STRING], BOOL, (name) => responseCookies(response()).has(name)),
    celFunc("inCidrRange", [STRING, STRING], BOOL, (ip, cidr) => cidrMatch(ip, [cidr])),
    celFunc("inCidrRanges", [STRING, listType(DYN)], BOOL, (ip, cidrs: CelList) => cidrMatch(ip, cidrs)),
    secretsFunction(() => secrets),
    ...FUNCTION_TABLES.flat(),
    ...extraFuncs,
  ];
  rt.env = meteredEnv(celEnv({ funcs, re2: regexes }), { meter: () => rt.meter, instructionsOf: (pattern) => regexes.instructionsOf(pattern) });
  return rt as CelRuntime;
}
