import { type CelEnv, celEnv, isCelError, isCelList, isCelMap, parse, plan } from "@bufbuild/cel";
import { strings } from "@bufbuild/cel/ext";
import { describe, expect, it } from "vitest";
import { NGROK_NAMESPACED_FUNCTIONS, ngrokFunctions, takeNgrokWork } from "./index.js";

// A throwaway environment: the strings extension and the table, no Onramp checker or meter. The
// planner of @bufbuild/cel resolves dotted names (`base64.decode(x)`) by itself.
const env: CelEnv = celEnv({ funcs: [...strings, ...ngrokFunctions] });
const run = (expr: string, vars: Record<string, unknown> = {}): unknown => plan(env, parse(expr))(vars as never);

describe("ngrokFunctions through CEL", () => {
  const truths = [
    "base64.decode('aGVsbG8=') == b'hello'",
    "base64.encode(b'hello') == 'aGVsbG8='",
    "base64.encode('hello') == 'aGVsbG8='",
    "'c29tZTp0aGluZw=='.decodeBase64() == 'some:thing'",
    "'some:thing'.encodeBase64() == 'c29tZTp0aGluZw=='",
    "b64.decode('c29tZTp0aGluZw==') == 'some:thing'",
    "basic_auth.encode('username', 'password1') == 'Basic dXNlcm5hbWU6cGFzc3dvcmQx'",
    "hash.crc32('hello') == '3610a686'",
    "hash.crc64('hello', 'base64') == 'PD7u4tgQAAA='",
    "hash.sha256('hello') == '2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824'",
    "'hello'.md5() == '5d41402abc4b2a76b9719d911017c592'",
    "'hello'.sha1('base64') == 'qvTGHdzF6KLavt4PO0gs2a6pQ00='",
    "'hello'.xxhash64() == '26c7827d889f6da3'",
    "hash.xxhash64(b'hello') == '26c7827d889f6da3'",
    "json.decode('{\"a\":\"b\"}').a == 'b'",
    "json.decode('[\"first entry\",\"b\"]')[0] == 'first entry'",
    "json.decode('{\"n\":1}').n == 1",
    "json.encode({'a': 'b'}) == '{\"a\":\"b\"}'",
    "json.encode(['a', 'b', 'c']) == '[\"a\",\"b\",\"c\"]'",
    "['a','b','c'].encodeJson() == '[\"a\",\"b\",\"c\"]'",
    "{'c':'d','a':'b'}.encodeJson() == '{\"a\":\"b\",\"c\":\"d\"}'",
    "'{\"a\":\"b\"}'.decodeJson().a == 'b'",
    "'{\"a\":\"b\",\"c\":\"d\"}'.isJson()",
    "!'not json'.isJson()",
    "[1,2,3,4].slice(1, 3) == [2, 3]",
    "[1,[2,3],[4]].flatten() == [1, 2, 3, 4]",
    "[1,[2,[3,[4]]]].flatten(2) == [1, 2, 3, [4]]",
    "[3, 2, 1].sort() == [1, 2, 3]",
    "['b', 'c', 'a'].sort() == ['a', 'b', 'c']",
    "[1, 2, 2, 3, 3, 3].distinct() == [1, 2, 3]",
    "lists.range(5) == [0, 1, 2, 3, 4]",
    "{'a':'b','c':'d'}.encodeQueryString() == 'a=b&c=d'",
    "queryString.decode('a=b&c=d') == {'a': 'b', 'c': 'd'}",
    "queryString.decode('q=hello')['q'] == 'hello'",
    "queryString.encode({'q': 'policy'}) == 'q=policy'",
    "'a=b&c=d'.decodeQueryString().c == 'd'",
    "'a=b&c=d'.isQueryString() && !'not a query string'.isQueryString()",
    "rand.double() >= 0.0 && rand.double() < 1.0",
    "rand.int() in [0, 1]",
    "rand.int(0, 10) >= 0 && rand.int(0, 10) <= 10",
    "'Ärger in Österreich, ÉCOLE, İSTANBUL, ЙОГА!'.lower() == 'ärger in österreich, école, istanbul, йога!'",
    "'école'.upper() == 'ÉCOLE'",
    "'gums'.reverse() == 'smug'",
    "'hello mellow'.split() == ['hello', 'mellow']",
    "'hello,mellow'.split(',') == ['hello', 'mellow']",
    "'192.168.1.1'.isPrivateIp() && !'8.8.8.8'.isPrivateIp()",
    "'https://ngrok.com'.isURL() && !'not a url'.isURL()",
    "'i;md/r/$y'.escapeUrl() == 'i%3Bmd%2Fr%2F%24y'",
    "'i%3Bmd%2Fr%2F%24y'.unescapeUrl() == 'i;md/r/$y'",
    "'https://ngrok.com'.parseUrl().host == 'ngrok.com'",
    "url.escape('i;md/r/$y') == 'i%3Bmd%2Fr%2F%24y'",
    "url.unescape('%2Ffoo') == '/foo'",
    "url.parse('https://ngrok.com/a?b=c').host == 'ngrok.com'",
    "url.parse('https://ngrok.com').scheme == 'https'",
    "url.parse(u).path == '/api/v1'",
  ];
  it.each(truths)("%s", (expr) => {
    expect(run(expr, { u: "http://example.com:8080/api/v1?x=1" })).toBe(true);
  });

  it("returns CEL errors, not exceptions, for bad input and inputs over the limits", () => {
    for (const expr of ["base64.decode('aGVsbG8')", "[1, 'b'].sort()", "[1].flatten(-1)", "lists.range(100000)", "hash.md5('x', 'HEX')", "url.unescape('%zz')", "big.sha256()"]) {
      const result = run(expr, { big: "x".repeat(1024 * 1024 + 1) });
      expect(isCelError(result), expr).toBe(true);
    }
    const err = run("big.sha256()", { big: "x".repeat(1024 * 1024 + 1) });
    expect(isCelError(err) && err.message).toMatch(/sha256: input is 1,048,577 characters, over the limit of 1,048,576/);
  });

  it("decodes JSON into values CEL can walk", () => {
    const m = run("json.decode(s)", { s: '{"a":[1,{"b":true}]}' });
    expect(isCelMap(m)).toBe(true);
    expect(run("json.decode(s).a[1].b", { s: '{"a":[1,{"b":true}]}' })).toBe(true);
    expect(isCelList(run("json.decode(s).a.map(x, x)", { s: '{"a":[1,2]}' }))).toBe(true);
  });

  it("names its namespaced functions", () => {
    expect(NGROK_NAMESPACED_FUNCTIONS.has("base64.decode")).toBe(true);
    expect(NGROK_NAMESPACED_FUNCTIONS.has("hash.xxhash64")).toBe(true);
    expect(NGROK_NAMESPACED_FUNCTIONS.has("sort")).toBe(false);
  });

  it("reports nested work the meter cannot see", () => {
    takeNgrokWork();
    run("[[1, 2], [3, [4]]].flatten(2)");
    expect(takeNgrokWork()).toBe(7 * 4); // [1,2], 1, 2, [3,[4]], 3, [4], 4
    expect(takeNgrokWork()).toBe(0);
    run("lists.range(1000).sort()");
    expect(takeNgrokWork()).toBe(1000 * 10);
  });
});

describe("through the meter (cel-meter.ts)", () => {
  it("charges each call for its input and result, and can add the nested work", async () => {
    const { CelMeter, meteredEnv } = await import("../cel-meter.js");
    let meter = new CelMeter(1_000_000);
    const metered = meteredEnv(env, { meter: () => meter, instructionsOf: () => undefined });
    const big = "x".repeat(1024 * 1024);
    plan(metered, parse("big.sha256()"))({ big } as never);
    expect(meter.spent).toBeGreaterThan(big.length / 4); // the input, read 4 characters a unit
    meter = new CelMeter(100_000);
    const result = plan(metered, parse("big.sha256()"))({ big } as never);
    expect(isCelError(result)).toBe(true); // too big for the budget: refused before it runs
    // What the meter cannot see (seven values visited) it takes from takeNgrokWork() after each call.
    meter = new CelMeter(1_000_000);
    takeNgrokWork();
    plan(metered, parse("[[1, 2], [3, [4]]].flatten(2)"))({} as never);
    expect(takeNgrokWork()).toBe(0);
    expect(meter.spent).toBeGreaterThanOrEqual(7 * 4);
    // And a call that is refused still leaves nothing behind for the next one.
    meter = new CelMeter(1_000_000);
    plan(metered, parse("lists.range(20000)"))({} as never);
    expect(takeNgrokWork()).toBe(0);
  });
});
