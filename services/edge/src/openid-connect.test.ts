import { decodeRequestHead, encodeResponseHead } from "@onramp/mux";
import { createPolicyRuntime } from "@onramp/policy";
import { generateKeyPairSync } from "node:crypto";
import { createServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { policyFrom, startPolicyProxy } from "./policy-proxy-fixture.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveEdgeOptions } from "./options.js";

/**
 * `openid-connect` end to end: a browser (a cookie-keeping redirect loop) asks a real edge proxy
 * for a page, is sent to a real OpenID provider (oidc-provider, on loopback, logging the user in
 * at once), comes back through the endpoint's /ngrok/callback, and reaches the upstream with the
 * identity the policy put in a header. libs/policy's openid-connect.test.ts covers the rest.
 */

const USER = { sub: "user-7", email: "grace@example.com", name: "Grace Hopper" };
const closers: Array<() => void | Promise<void>> = [];
let edgePort = 0;
let issuer = "";

/** oidc-provider ships no type declarations: the part used here. */
interface OidcProvider {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<{ prompt: { name: string; details: { missingOIDCScope?: string[]; missingOIDCClaims?: string[] } }; params: { client_id: string } }>;
  interactionFinished(req: IncomingMessage, res: ServerResponse, result: object, options: object): Promise<void>;
  Grant: new (init: { accountId: string; clientId: string }) => { addOIDCScope(s: string): void; addOIDCClaims(c: string[]): void; save(): Promise<string> };
}

async function startProvider(): Promise<void> {
  const { default: Provider } = (await import("oidc-provider" as string)) as { default: new (issuer: string, config: object) => OidcProvider };
  let handle: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.end();
  const server = createServer((req, res) => handle(req, res));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  closers.push(() => {
    server.closeAllConnections();
    server.close();
  });
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const key = { ...generateKeyPairSync("rsa", { modulusLength: 2048 }).privateKey.export({ format: "jwk" }), alg: "RS256", use: "sig" };
  const provider = new Provider(issuer, {
    clients: [{ client_id: "edge-test", client_secret: "edge-test-client-secret", redirect_uris: ["http://app.test/ngrok/callback"], grant_types: ["authorization_code"], response_types: ["code"] }],
    findAccount: async (_ctx: unknown, sub: string) => ({ accountId: sub, claims: async () => ({ ...USER, sub }) }),
    claims: { openid: ["sub"], email: ["email"], profile: ["name"] },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx: unknown, i: { uid: string }) => `/interaction/${i.uid}` },
    cookies: { keys: ["edge-test-cookie-key"] },
    ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 3600, IdToken: 3600 },
    jwks: { keys: [key] },
  });
  const callback = provider.callback();
  handle = (req, res) => {
    if (!req.url?.startsWith("/interaction/")) return callback(req, res);
    void (async () => {
      const details = await provider.interactionDetails(req, res);
      if (details.prompt.name === "login") return provider.interactionFinished(req, res, { login: { accountId: USER.sub } }, { mergeWithLastSubmission: false });
      const grant = new provider.Grant({ accountId: USER.sub, clientId: details.params.client_id });
      if (details.prompt.details.missingOIDCScope) grant.addOIDCScope(details.prompt.details.missingOIDCScope.join(" "));
      if (details.prompt.details.missingOIDCClaims) grant.addOIDCClaims(details.prompt.details.missingOIDCClaims);
      return provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true });
    })().catch((err: unknown) => res.writeHead(500).end(String(err)));
  };
}

beforeAll(async () => {
  await startProvider();
  const policy = policyFrom(`
on_http_request:
  - actions:
      - type: openid-connect
        config:
          issuer_url: ${issuer}
          client_id: edge-test
          client_secret: edge-test-client-secret
      - type: add-headers
        config:
          headers:
            x-user: "\${actions.ngrok.oidc.identity.name} <\${actions.ngrok.oidc.identity.email}>"
`);
  // The upstream answers with the x-user header it received.
  const proxy = await startPolicyProxy({
    endpoints: { "http://app.test": policy },
    agent: (stream, head) => {
      const h = decodeRequestHead(head).headers;
      const user = h[h.findIndex((v, i) => i % 2 === 0 && v.toLowerCase() === "x-user") + 1] ?? "";
      stream.sendHead(encodeResponseHead({ status: 200, statusText: "OK", headers: ["content-type", "text/plain"], body: Buffer.from(`upstream sees ${user}`) }), true);
    },
    runtime: createPolicyRuntime({ auth: { fetch: (url, init) => fetch(url, init), sessionSecret: "edge-test-session-secret" } }),
  });
  closers.push(proxy.close);
  edgePort = proxy.port;
});

afterAll(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

interface Answer {
  status: number;
  location: string | undefined;
  cookies: string[];
  body: string;
}

/** One request as a browser sends it; `app.test` is the edge on loopback. */
function send(url: URL, cookie: string | undefined): Promise<Answer> {
  const onEdge = url.host === "app.test";
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host: url.host, ...(cookie ? { cookie } : {}) };
    const target = onEdge ? { host: "127.0.0.1", port: edgePort } : { host: url.hostname, port: Number(url.port) };
    const req = request({ ...target, path: `${url.pathname}${url.search}`, headers, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, cookies: res.headers["set-cookie"] ?? [], body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** Follows redirects like a browser, keeping cookies per host (names only; paths ignored). */
async function browse(jar: Map<string, Map<string, string>>, start: string): Promise<{ answer: Answer; hosts: string[] }> {
  let url = new URL(start);
  const hosts: string[] = [];
  for (let hop = 0; hop < 20; hop++) {
    hosts.push(url.host);
    const cookies = jar.get(url.host) ?? new Map<string, string>();
    jar.set(url.host, cookies);
    const answer = await send(url, cookies.size > 0 ? [...cookies].map(([k, v]) => `${k}=${v}`).join("; ") : undefined);
    for (const line of answer.cookies) {
      const [pair = ""] = line.split(";");
      const eq = pair.indexOf("=");
      if (/max-age=0/i.test(line) || eq === pair.length - 1) cookies.delete(pair.slice(0, eq));
      else cookies.set(pair.slice(0, eq), pair.slice(eq + 1));
    }
    if (!answer.location) return { answer, hosts };
    url = new URL(answer.location, url);
  }
  throw new Error("too many redirects");
}

describe("openid-connect through the edge", () => {
  it("logs the user in at the provider and forwards the request with the identity; a tampered cookie or a logout starts over", async () => {
    const jar = new Map<string, Map<string, string>>();
    const first = await browse(jar, "http://app.test/inbox?page=2");
    expect(first.answer).toMatchObject({ status: 200, body: `upstream sees ${USER.name} <${USER.email}>` });
    expect(first.hosts[0]).toBe("app.test");
    expect(first.hosts[1]).toBe(new URL(issuer).host);
    expect(first.hosts.at(-1)).toBe("app.test");

    // Logged in: the cookie alone gets through.
    const again = await browse(jar, "http://app.test/inbox");
    expect(again.hosts).toEqual(["app.test"]);
    expect(again.answer.body).toBe(`upstream sees ${USER.name} <${USER.email}>`);

    // A tampered session cookie is not accepted: the browser is sent to the provider again.
    const session = jar.get("app.test")!;
    session.set("onramp_auth_oidc", `${session.get("onramp_auth_oidc")!.slice(0, -4)}AAAA`);
    const tampered = await send(new URL("http://app.test/inbox"), [...session].map(([k, v]) => `${k}=${v}`).join("; "));
    expect(tampered.status).toBe(302);
    expect(tampered.location?.startsWith(`${issuer}/auth?`)).toBe(true);

    // Logout clears the cookie; the next request goes to the provider.
    const out = await browse(jar, "http://app.test/ngrok/logout");
    expect(out.answer).toMatchObject({ status: 200, body: "You are logged out.\n" });
    expect(jar.get("app.test")!.has("onramp_auth_oidc")).toBe(false);
    const after = await send(new URL("http://app.test/inbox"), undefined);
    expect(after.status).toBe(302);
  });
});

describe("the edge's session secret", () => {
  const base = { allowAnyToken: true };
  it("is the configured one, else derived from the cluster secret, else left to the runtime (random per start)", () => {
    expect(resolveEdgeOptions({ ...base, sessionSecret: " sixteen-chars-ok! " }).sessionSecret).toBe("sixteen-chars-ok!");
    expect(resolveEdgeOptions({ ...base, clusterSecret: "mesh-secret" }).sessionSecret).toBe("cluster-secret:mesh-secret");
    expect(resolveEdgeOptions(base).sessionSecret).toBeUndefined();
  });

  it("refuses a short one, naming the option", () => {
    expect(() => resolveEdgeOptions({ ...base, sessionSecret: "short" })).toThrow("edge option sessionSecret: must be at least 16 characters");
  });
});
