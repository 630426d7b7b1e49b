import { ErrorCode } from "@onramp/errors";
import { createPolicyRuntime, createRequestContext, formatPolicyErrors, loadPolicy, type Policy } from "@onramp/policy";
import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { addPolicyShortcutFlags, combinePolicies, printablePolicy, shortcutPolicy, type PolicyShortcutFlags } from "./policy-shortcuts.js";

function flags(args: string[]): PolicyShortcutFlags {
  const command = addPolicyShortcutFlags(new Command().exitOverride());
  command.parse(args, { from: "user" });
  return command.opts<PolicyShortcutFlags>();
}

/** Loads with the edge's loader; fails the test with the loader's errors. */
function load(text: string | undefined): Policy {
  const result = loadPolicy(text ?? "", { filename: "combined.yml" });
  if (!result.ok) throw new Error(formatPolicyErrors(result.errors));
  expect(result.warnings).toEqual([]);
  return result.policy;
}

const ALL = [
  "--basic-auth", "alice:correct horse",
  "--ip-restriction-allow", "10.0.0.0/8,2001:db8::/32",
  "--request-header-add", "X-Env: staging",
  "--response-header-add", "Cache-Control:no-store",
  "--basic-auth", "bob:battery staple",
  "--ip-restriction-deny", "10.66.0.0/16",
  "--ip-restriction-allow", "192.168.1.7",
  "--request-header-add", "X-Client:  ${conn.client_ip} ",
];

const ALL_YAML = `on_http_request:
  - name: --ip-restriction-allow, --ip-restriction-deny
    actions:
      - type: restrict-ips
        config:
          allow:
            - 10.0.0.0/8
            - 2001:db8::/32
            - 192.168.1.7
          deny:
            - 10.66.0.0/16
  - name: --basic-auth
    actions:
      - type: basic-auth
        config:
          credentials:
            - alice:correct horse
            - bob:battery staple
  - name: --request-header-add
    actions:
      - type: add-headers
        config:
          headers:
            X-Env: staging
            X-Client: \${conn.client_ip}
on_http_response:
  - name: --response-header-add
    actions:
      - type: add-headers
        config:
          headers:
            Cache-Control: no-store
`;

describe("shortcutPolicy", () => {
  it("turns the flags into rules named after them: IP restrictions, basic auth, request headers; response headers", () => {
    expect(shortcutPolicy(flags(ALL))).toEqual({
      on_http_request: [
        { name: "--ip-restriction-allow, --ip-restriction-deny", actions: [{ type: "restrict-ips", config: { allow: ["10.0.0.0/8", "2001:db8::/32", "192.168.1.7"], deny: ["10.66.0.0/16"] } }] },
        { name: "--basic-auth", actions: [{ type: "basic-auth", config: { credentials: ["alice:correct horse", "bob:battery staple"] } }] },
        { name: "--request-header-add", actions: [{ type: "add-headers", config: { headers: { "X-Env": "staging", "X-Client": "${conn.client_ip}" } } }] },
      ],
      on_http_response: [{ name: "--response-header-add", actions: [{ type: "add-headers", config: { headers: { "Cache-Control": "no-store" } } }] }],
    });
    expect(combinePolicies(undefined, shortcutPolicy(flags(ALL)))).toBe(ALL_YAML);
    load(ALL_YAML);
  });

  it("is undefined without a shortcut flag, --print-policy included", () => {
    expect(shortcutPolicy(flags([]))).toBeUndefined();
    expect(shortcutPolicy(flags(["--print-policy"]))).toBeUndefined();
    expect(flags(["--print-policy"]).printPolicy).toBe(true);
  });

  it("uses only the phases and keys it needs", () => {
    expect(shortcutPolicy(flags(["--ip-restriction-deny", "203.0.113.0/24"]))).toEqual({
      on_http_request: [{ name: "--ip-restriction-deny", actions: [{ type: "restrict-ips", config: { deny: ["203.0.113.0/24"] } }] }],
    });
    expect(shortcutPolicy(flags(["--response-header-add", "X-Frame-Options: DENY"]))).toEqual({
      on_http_response: [{ name: "--response-header-add", actions: [{ type: "add-headers", config: { headers: { "X-Frame-Options": "DENY" } } }] }],
    });
  });

  it("appends a header given twice with a second add-headers action; an empty value is a value", () => {
    const policy = shortcutPolicy(flags(["--response-header-add", "Set-Cookie: a=1", "--response-header-add", "Vary:", "--response-header-add", "set-cookie: b=2"]));
    expect(policy?.on_http_response?.[0]?.actions).toEqual([
      { type: "add-headers", config: { headers: { "Set-Cookie": "a=1", Vary: "" } } },
      { type: "add-headers", config: { headers: { "set-cookie": "b=2" } } },
    ]);
    load(combinePolicies(undefined, policy));
  });

  it.each([
    [["--basic-auth", "user"], '--basic-auth: "user" is not user:password'],
    [["--basic-auth", ":password123"], '--basic-auth: the user name before the ":" is empty'],
    [["--basic-auth", "alice:"], '--basic-auth: the password of "alice" must be 1 to 128 characters long, got 0'],
    [["--basic-auth", `alice:${"x".repeat(129)}`], '--basic-auth: the password of "alice" must be 1 to 128 characters long, got 129'],
    [Array.from({ length: 11 }, (_, i) => ["--basic-auth", `user${i}:password${i}`]).flat(), "--basic-auth: at most 10 users, got 11"],
    [["--request-header-add", "X-Env staging"], '--request-header-add: "X-Env staging" is not "Name: value" with a valid header name'],
    [["--request-header-add", "X Env: staging"], '--request-header-add: "X Env: staging" is not "Name: value" with a valid header name'],
    [["--request-header-add", ": staging"], '--request-header-add: ": staging" is not "Name: value" with a valid header name'],
    [["--request-header-add", "Host: example.com"], "--request-header-add: the Host header is set with --host-header"],
    [["--response-header-add", "X-A: a\nX-B: b"], "--response-header-add: the value of X-A contains CR, LF or NUL"],
    [["--ip-restriction-allow", "10.0.0.0/33"], '--ip-restriction-allow: "10.0.0.0/33" is not an IPv4 or IPv6 CIDR such as 10.0.0.0/8 or 2001:db8::/32'],
    [["--ip-restriction-deny", "10.0.0.0/8,localhost"], '--ip-restriction-deny: "localhost" is not an IPv4 or IPv6 CIDR such as 10.0.0.0/8 or 2001:db8::/32'],
    [["--ip-restriction-deny", "2001:db8::/129"], '--ip-restriction-deny: "2001:db8::/129" is not an IPv4 or IPv6 CIDR such as 10.0.0.0/8 or 2001:db8::/32'],
    [["--ip-restriction-allow", ","], "--ip-restriction-allow: no CIDR given"],
    [["--request-header-add", "X-Who: ${req.nope}"], "--request-header-add: actions[0].config.headers.X-Who: unknown variable 'req.nope'"],
  ])("rejects %j: %s", (args, message) => {
    let error: unknown;
    try {
      shortcutPolicy(flags(args));
    } catch (err) {
      error = err;
    }
    expect(error).toMatchObject({ code: ErrorCode.InvalidArgument });
    expect((error as Error).message.split("\n")[0]).toBe(message);
  });

  it("takes passwords of 8 and 128 characters, and a colon inside the password", () => {
    const credentials = ["a:12345678", `b:${"x".repeat(128)}`, "c:pass:word: 1"];
    expect(shortcutPolicy(flags(credentials.flatMap((c) => ["--basic-auth", c])))?.on_http_request?.[0]?.actions[0]?.config).toEqual({ credentials });
    load(combinePolicies(undefined, shortcutPolicy(flags(credentials.flatMap((c) => ["--basic-auth", c])))));
  });
});

describe("combinePolicies", () => {
  const FILE = `# staging policy
on_tcp_connect:
  - actions:
      - type: log
        config: {metadata: {phase: tcp}}
on_http_request:
  # everything gets an answer here, so nothing may run after it unless it is first
  - name: answer
    actions: [{type: custom-response, config: {status_code: 200, body: "hi \${actions.ngrok.basic_auth.credentials.username}"}}]
`;

  it("is the file as it is without shortcuts, the shortcuts alone without a file, undefined with neither", () => {
    const shortcuts = shortcutPolicy(flags(["--basic-auth", "alice:correct horse"]));
    expect(combinePolicies({ text: FILE, source: "policy.yml" }, undefined)).toBe(FILE);
    expect(combinePolicies(undefined, shortcuts)).toBe(
      "on_http_request:\n  - name: --basic-auth\n    actions:\n      - type: basic-auth\n        config:\n          credentials:\n            - alice:correct horse\n",
    );
    expect(combinePolicies(undefined, undefined)).toBeUndefined();
  });

  it("puts the shortcut rules first in each phase, keeps the file's rules, phases and comments after them", () => {
    const combined = combinePolicies({ text: FILE, source: "policy.yml" }, shortcutPolicy(flags(["--basic-auth", "alice:correct horse", "--response-header-add", "X-Env: staging"])));
    expect(combined).toBe(`# staging policy
on_tcp_connect:
  - actions:
      - type: log
        config: {metadata: {phase: tcp}}
on_http_request:
  - name: --basic-auth
    actions:
      - type: basic-auth
        config:
          credentials:
            - alice:correct horse
  # everything gets an answer here, so nothing may run after it unless it is first
  - name: answer
    actions: [{type: custom-response, config: {status_code: 200, body: "hi \${actions.ngrok.basic_auth.credentials.username}"}}]
on_http_response:
  - name: --response-header-add
    actions:
      - type: add-headers
        config:
          headers:
            X-Env: staging
`);
    load(combined);
  });

  it("runs the shortcuts before the file's rules: IP restriction, then basic auth, then the file's answer", async () => {
    const shortcuts = shortcutPolicy(flags(["--basic-auth", "alice:correct horse", "--ip-restriction-allow", "10.0.0.0/8", "--request-header-add", "X-Env: staging"]));
    const policy = load(combinePolicies({ text: FILE, source: "policy.yml" }, shortcuts));
    const rt = createPolicyRuntime();
    const run = (clientIp: string, authorization?: string) => {
      const headers = new Map([["host", ["app.example.com"]]]);
      if (authorization) headers.set("authorization", [authorization]);
      const ctx = createRequestContext({
        conn: { clientIp, clientPort: 50000, startedAtMs: 0 },
        endpoint: { id: "ep_1", url: "https://app.example.com", host: "app.example.com", protocol: "https" },
        request: { method: "GET", scheme: "https", host: "app.example.com", path: "/", rawQuery: "", headers },
      });
      return policy.onHttpRequest(ctx, rt).then((outcome) => ({ outcome, headers }));
    };
    const alice = `Basic ${btoa("alice:correct horse")}`;
    expect((await run("203.0.113.7", alice)).outcome).toMatchObject({ kind: "respond", status: 403, code: "ACCESS_DENIED" });
    expect((await run("10.1.2.3")).outcome).toMatchObject({ kind: "respond", status: 401, code: "UNAUTHORIZED" });
    const ok = await run("10.1.2.3", alice);
    expect(ok.outcome).toMatchObject({ kind: "respond", status: 200 });
    expect(ok.headers.get("x-env")).toEqual(["staging"]);
  });

  it("adds a phase the file lacks where it belongs, and fills a phase the file leaves empty", () => {
    const shortcuts = shortcutPolicy(flags(["--ip-restriction-deny", "10.66.0.0/16"]));
    const rules = "  - name: --ip-restriction-deny\n    actions:\n      - type: restrict-ips\n        config:\n          deny:\n            - 10.66.0.0/16\n";
    const response = "on_http_response:\n  - actions:\n      - type: remove-headers\n        config:\n          headers: [server]\n";
    expect(combinePolicies({ text: `# top\n${response}`, source: "p.yml" }, shortcuts)).toBe(`# top\non_http_request:\n${rules}${response}`);
    expect(combinePolicies({ text: `on_http_request:\n${response}`, source: "p.yml" }, shortcuts)).toBe(`on_http_request:\n${rules}${response}`);
    expect(combinePolicies({ text: "", source: "p.yml" }, shortcuts)).toBe(`on_http_request:\n${rules}`);
    for (const text of [`# top\n${response}`, `on_http_request:\n${response}`, ""]) load(combinePolicies({ text, source: "p.yml" }, shortcuts));
  });

  it("prints a JSON file as block YAML after the shortcut rules", () => {
    const json = JSON.stringify({ on_http_request: [{ name: "no bots", expressions: ["req.user_agent.is_bot"], actions: [{ type: "deny" }] }] });
    const combined = combinePolicies({ text: json, source: "policy.json" }, shortcutPolicy(flags(["--request-header-add", "X-Env: staging"])));
    expect(combined).toBe(`on_http_request:
  - name: --request-header-add
    actions:
      - type: add-headers
        config:
          headers:
            X-Env: staging
  - name: no bots
    expressions:
      - req.user_agent.is_bot
    actions:
      - type: deny
`);
    expect(parseYaml(combined!)).toEqual({
      on_http_request: [
        { name: "--request-header-add", actions: [{ type: "add-headers", config: { headers: { "X-Env": "staging" } } }] },
        ...(JSON.parse(json) as { on_http_request: unknown[] }).on_http_request,
      ],
    });
    load(combined);
  });

  it("reports a broken file under its name, at its own lines", () => {
    const shortcuts = shortcutPolicy(flags(["--basic-auth", "alice:correct horse"]));
    const combine = (text: string) => () => combinePolicies({ text, source: "policy.yml" }, shortcuts);
    expect(combine("on_http_request:\n  - actions: [{type: nope}]\n")).toThrow(
      expect.objectContaining({ code: ErrorCode.PolicyInvalid, message: expect.stringMatching(/^policy\.yml is not a valid traffic policy:\npolicy\.yml:2:22: on_http_request\[0\]: actions\[0\]\.type: unknown action type "nope"/) }),
    );
    expect(combine("on_http_request: [")).toThrow(expect.objectContaining({ message: expect.stringContaining("policy.yml:1:") }));
    expect(combine("- just a list\n")).toThrow(expect.objectContaining({ message: expect.stringContaining("policy.yml:1:1: a traffic policy must be a map") }));
  });
});

describe("printablePolicy", () => {
  it("is the policy ending in a newline, or an empty policy", () => {
    expect(printablePolicy(undefined)).toBe("{}\n");
    expect(printablePolicy("  \n")).toBe("{}\n");
    expect(printablePolicy("on_http_request: []")).toBe("on_http_request: []\n");
    expect(printablePolicy(ALL_YAML)).toBe(ALL_YAML);
    load(printablePolicy(undefined));
  });
});
