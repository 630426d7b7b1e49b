import { describe, expect, it } from "vitest";
import { createSecretStore, secretEnvName } from "./secrets.js";
import { errorsOf, fakeRuntime, policyOf, request } from "./test-fixtures.js";

const store = createSecretStore({
  vaults: { "my-vault": { password: "hunter2" } },
  env: { [secretEnvName("ops", "api-key")]: "k-123", ONRAMP_SECRET_MY_VAULT__PASSWORD: "from-env" },
});

const echo = (expr: string) => `
on_http_request:
  - actions:
      - type: custom-response
        config:
          status_code: 200
          body: "\${${expr}}"`;

async function body(expr: string, secrets = store): Promise<string> {
  const out = await policyOf(echo(expr), { secrets }).onHttpRequest(request({ headers: { "x-vault": "my-vault" } }), fakeRuntime());
  return out.kind === "respond" ? out.body : "";
}

describe("secrets.get", () => {
  it("names environment variables unambiguously", () => {
    expect(secretEnvName("my-vault", "api_key")).toBe("ONRAMP_SECRET_MY_VAULT__API_KEY");
  });

  it("reads the config's vaults first, then the environment", async () => {
    expect(await body("secrets.get('my-vault', 'password')")).toBe("hunter2");
    expect(await body("secrets.get('ops', 'api-key')")).toBe("k-123");
  });

  it("reads an unknown secret named at run time as an empty string", async () => {
    expect(await body("secrets.get(req.headers['x-vault'][0], 'nope') + '|' + secrets.get(req.headers['x-vault'][0], 'password')")).toBe("|hunter2");
  });

  it("fails the load on an unknown literal secret, naming it but no value", () => {
    const errors = errorsOf(echo("secrets.get('my-vault', 'pasword')"), { secrets: store });
    expect(errors).toMatch(/unknown secret 'pasword' in vault 'my-vault'.*ONRAMP_SECRET_MY_VAULT__PASWORD/);
    expect(errors).not.toContain("hunter2");
  });

  it("accepts any reference when loaded without secrets (validation away from the edge)", async () => {
    const out = await policyOf(echo("secrets.get('v', 'n')")).onHttpRequest(request(), fakeRuntime());
    expect(out.kind === "respond" && out.body).toBe("");
  });

  it("is typed: a non-string argument fails the load", () => {
    expect(errorsOf(echo("secrets.get('v', 1)"))).toMatch(/no overload of 'secrets.get'/);
  });
});
