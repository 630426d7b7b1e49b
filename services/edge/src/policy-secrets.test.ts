import { ErrorCode, OnrampError } from "@onramp/errors";
import { createSecretStore } from "@onramp/policy";
import { silentLogger } from "@onramp/telemetry";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { getThrough, type Answer } from "./policy-proxy-fixture.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEdge, type Edge } from "./edge.js";
import type { EdgeOptions } from "./options.js";

/**
 * `secrets.get(vault, name)` with the store an edge gets in its options (the CLI builds it from the
 * config file's `secrets:` and ONRAMP_SECRET_* variables): policies of a real edge use secrets in
 * basic-auth credentials and in an http-request header, and a policy naming a secret the edge
 * does not have fails to load, naming the secret but never showing a value.
 */

const TOKEN = "tok-3f9a1c-never-printed";
const PASSWORD = "pw-b7e2d4-never-printed";
const secrets = createSecretStore({
  vaults: { api: { token: TOKEN } },
  env: { ONRAMP_SECRET_USERS__ALAN: PASSWORD, ONRAMP_SECRET_API__TOKEN: "the config file wins" },
});

const closers: Array<() => Promise<void> | void> = [];
let http = 0;
/** The Authorization headers the service on loopback received. */
const authorizations: string[] = [];

function options(cloudEndpoints: EdgeOptions["cloudEndpoints"]): EdgeOptions {
  return { httpAddr: "127.0.0.1:0", grpcAddr: "127.0.0.1:0", adminAddr: "", authtokens: ["policy-secrets-test-token"], logger: silentLogger(), secrets, cloudEndpoints };
}

beforeAll(async () => {
  const service: Server = createServer((req, res) => {
    authorizations.push(req.headers.authorization ?? "");
    const ok = req.headers.authorization === `Bearer ${TOKEN}`;
    res.writeHead(ok ? 200 : 401).end(ok ? "gold" : "who are you");
  });
  await new Promise<void>((r) => service.listen(0, "127.0.0.1", r));
  closers.push(() => {
    service.closeAllConnections();
    service.close();
  });
  const servicePort = (service.address() as AddressInfo).port;
  const hello = { type: "custom-response", config: { status_code: 200, body: "hello ${req.url.path}" } };
  const edge: Edge = createEdge(
    options([
      {
        url: "http://private.example.test",
        trafficPolicy: JSON.stringify({
          on_http_request: [{ actions: [{ type: "basic-auth", config: { credentials: ["alan:${secrets.get('users', 'alan')}"] } }, hello] }],
        }),
      },
      {
        url: "http://lookup.example.test",
        trafficPolicy: JSON.stringify({
          on_http_request: [
            {
              actions: [
                { type: "http-request", config: { url: `http://127.0.0.1:${servicePort}/plan`, headers: { authorization: "Bearer ${secrets.get('api', 'token')}" } } },
                { type: "custom-response", config: { status_code: 200, body: "${string(actions.ngrok.http_request.res.status_code)} ${actions.ngrok.http_request.res.body}" } },
              ],
            },
          ],
        }),
      },
    ]),
  );
  closers.push(() => edge.close());
  const addresses = await edge.start();
  http = Number(addresses.http.split(":").pop());
});

afterAll(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

const get = (host: string, headers: Record<string, string> = {}): Promise<Answer> => getThrough(http, host, "/", headers);

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;

describe("secrets.get on an edge", () => {
  it("checks basic-auth against a secret from the environment", async () => {
    expect((await get("private.example.test")).status).toBe(401);
    expect((await get("private.example.test", { authorization: basic("alan", "guess") })).status).toBe(401);
    expect(await get("private.example.test", { authorization: basic("alan", PASSWORD) })).toMatchObject({ status: 200, body: "hello /" });
  });

  it("sends a secret from the config's vaults in an http-request header", async () => {
    expect(await get("lookup.example.test")).toMatchObject({ status: 200, body: "200 gold" });
    expect(authorizations).toContain(`Bearer ${TOKEN}`);
  });

  it("refuses a policy that names a secret the edge does not have, without showing any value", () => {
    const policy = JSON.stringify({
      on_http_request: [{ actions: [{ type: "add-headers", config: { headers: { "x-key": "${secrets.get('api', 'tokn')}" } } }] }],
    });
    let error: unknown;
    try {
      createEdge(options([{ url: "http://typo.example.test", trafficPolicy: policy }]));
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(OnrampError);
    expect((error as OnrampError).code).toBe(ErrorCode.InvalidArgument);
    const message = (error as Error).message;
    expect(message).toContain("cloud_endpoints[0].traffic_policy");
    expect(message).toContain("unknown secret 'tokn' in vault 'api'");
    expect(message).toContain("ONRAMP_SECRET_API__TOKN");
    for (const value of [TOKEN, PASSWORD]) expect(message).not.toContain(value);
  });
});
