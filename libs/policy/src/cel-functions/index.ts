import { type CelFunc, CelScalar, celFunc, celMethod, listType, mapType } from "@bufbuild/cel";
import {
  base64Decode,
  base64DecodeToString,
  base64Encode,
  basicAuthEncode,
  isQueryString,
  isUrl,
  parseUrl,
  queryEscape,
  queryStringDecode,
  queryStringEncode,
  queryUnescape,
} from "./codec.js";
import { HASH_ALGORITHMS, hashText } from "./hash.js";
import { isJson, jsonDecode, jsonEncode } from "./json.js";
import { takeWork } from "./limits.js";
import { listDistinct, listFlatten, listSlice, listSort, listSortByKeys, listsRange } from "./lists.js";
import { randDouble, randInt } from "./random.js";
import { fields, isPrivateIp, lower, reverse, upper } from "./strings.js";

export * from "./codec.js";
export * from "./hash.js";
export * from "./json.js";
export * from "./limits.js";
export * from "./lists.js";
export * from "./random.js";
export * from "./strings.js";

const { STRING, BYTES, INT, DOUBLE, BOOL, DYN } = CelScalar;
const LIST = listType(DYN);
const MAP = mapType(DYN, DYN);
const STRING_MAP = mapType(STRING, STRING);

const urlMap = (text: string, fn: string): Map<string, string> => new Map(Object.entries(parseUrl(text, fn)));

/**
 * ngrok's Traffic Policy CEL function library (docs/traffic-policy.md, "ngrok's function library"), beyond what the standard library,
 * the strings extension and cel-env.ts's request macros provide. Namespaced functions carry
 * dotted names ("base64.decode"): @bufbuild/cel's planner resolves `base64.decode(x)` to them, but
 * cel-compile.ts's checker must know them too. Every function refuses inputs over the limits in
 * limits.ts, so each call is linear (sort: n·log n) in bounded inputs.
 */
export const ngrokFunctions: readonly CelFunc[] = [
  // Base64 and Basic credentials
  celFunc("base64.decode", [STRING], BYTES, (s) => base64Decode(s)),
  celFunc("base64.encode", [BYTES], STRING, (b) => base64Encode(b)),
  celFunc("base64.encode", [STRING], STRING, (s) => base64Encode(s)),
  celFunc("b64.decode", [STRING], STRING, (s) => base64DecodeToString(s, "b64.decode")),
  celFunc("b64.encode", [STRING], STRING, (s) => base64Encode(s, "b64.encode")),
  celMethod("decodeBase64", STRING, [], STRING, function () {
    return base64DecodeToString(this);
  }),
  celMethod("encodeBase64", STRING, [], STRING, function () {
    return base64Encode(this, "string.encodeBase64");
  }),
  celFunc("basic_auth.encode", [STRING, STRING], STRING, basicAuthEncode),

  // Hashes: hash.sha256(s), hash.sha256(s, 'base64'), s.sha256(), s.sha256('base64')
  ...HASH_ALGORITHMS.flatMap((a) => [
    celFunc(`hash.${a}`, [STRING], STRING, (s) => hashText(a, s)),
    celFunc(`hash.${a}`, [STRING, STRING], STRING, (s, format) => hashText(a, s, format)),
    celFunc(`hash.${a}`, [BYTES], STRING, (b) => hashText(a, b)),
    celFunc(`hash.${a}`, [BYTES, STRING], STRING, (b, format) => hashText(a, b, format)),
    celMethod(a, STRING, [], STRING, function () {
      return hashText(a, this);
    }),
    celMethod(a, STRING, [STRING], STRING, function (format) {
      return hashText(a, this, format);
    }),
  ]),

  // JSON
  celFunc("json.decode", [STRING], DYN, (s) => jsonDecode(s)),
  celFunc("json.encode", [DYN], STRING, (v) => jsonEncode(v)),
  celMethod("decodeJson", STRING, [], DYN, function () {
    return jsonDecode(this, "string.decodeJson");
  }),
  celMethod("encodeJson", LIST, [], STRING, function () {
    return jsonEncode(this, "list.encodeJson");
  }),
  celMethod("encodeJson", MAP, [], STRING, function () {
    return jsonEncode(this, "map.encodeJson");
  }),
  celMethod("isJson", STRING, [], BOOL, function () {
    return isJson(this);
  }),

  // Lists
  celMethod("slice", LIST, [INT, INT], LIST, function (start, end) {
    return listSlice(this, start, end);
  }),
  celMethod("flatten", LIST, [], LIST, function () {
    return listFlatten(this);
  }),
  celMethod("flatten", LIST, [INT], LIST, function (depth) {
    return listFlatten(this, depth);
  }),
  celMethod("sort", LIST, [], LIST, function () {
    return listSort(this);
  }),
  celMethod("@sortByAssociatedKeys", LIST, [LIST], LIST, function (keys) {
    return listSortByKeys(this, keys);
  }),
  celMethod("distinct", LIST, [], LIST, function () {
    return listDistinct(this);
  }),
  celFunc("lists.range", [INT], LIST, listsRange),

  // Query strings
  celFunc("queryString.decode", [STRING], STRING_MAP, (s) => queryStringDecode(s)),
  celFunc("queryString.encode", [MAP], STRING, (m) => queryStringEncode(m)),
  celMethod("decodeQueryString", STRING, [], STRING_MAP, function () {
    return queryStringDecode(this, "string.decodeQueryString");
  }),
  celMethod("encodeQueryString", MAP, [], STRING, function () {
    return queryStringEncode(this, "map.encodeQueryString");
  }),
  celMethod("isQueryString", STRING, [], BOOL, function () {
    return isQueryString(this);
  }),

  // Random
  celFunc("rand.double", [], DOUBLE, randDouble),
  celFunc("rand.int", [], INT, () => randInt()),
  celFunc("rand.int", [INT, INT], INT, (min, max) => randInt(min, max)),

  // Strings
  celMethod("lower", STRING, [], STRING, function () {
    return lower(this);
  }),
  celMethod("upper", STRING, [], STRING, function () {
    return upper(this);
  }),
  celMethod("reverse", STRING, [], STRING, function () {
    return reverse(this);
  }),
  celMethod("split", STRING, [], LIST, function () {
    return fields(this);
  }),
  celMethod("isPrivateIp", STRING, [], BOOL, function () {
    return isPrivateIp(this);
  }),
  celMethod("isURL", STRING, [], BOOL, function () {
    return isUrl(this);
  }),
  celMethod("escapeUrl", STRING, [], STRING, function () {
    return queryEscape(this, "string.escapeUrl");
  }),
  celMethod("unescapeUrl", STRING, [], STRING, function () {
    return queryUnescape(this, "string.unescapeUrl");
  }),
  celMethod("parseUrl", STRING, [], STRING_MAP, function () {
    return urlMap(this, "string.parseUrl");
  }),

  // URLs
  celFunc("url.escape", [STRING], STRING, (s) => queryEscape(s)),
  celFunc("url.unescape", [STRING], STRING, (s) => queryUnescape(s)),
  celFunc("url.parse", [STRING], STRING_MAP, (s) => urlMap(s, "url.parse")),
];

/** The names in `ngrokFunctions` that contain a dot, for the checker's namespace resolution. */
export const NGROK_NAMESPACED_FUNCTIONS: ReadonlySet<string> = new Set(ngrokFunctions.map((f) => f.name).filter((n) => n.includes(".")));

/**
 * The work ngrokFunctions did since the last call, in cel-meter.ts's units, beyond what the meter
 * charges every call (4, plus the top-level size of its target, arguments and result): values
 * visited inside nested lists and maps (`flatten`, `distinct`, `json.encode`/`decode`,
 * `queryString.encode`), the n·log n comparisons of `sort`, and the TypeScript hashes. Resets to 0.
 * The meter should charge it after every call, thrown or not:
 * `meter.charge(weight(result) + takeNgrokWork())`.
 */
export const takeNgrokWork: () => number = takeWork;
