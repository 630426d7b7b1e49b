import { OnrampError } from "@onramp/errors";
import { createMemoryControlStore } from "@onramp/registry";
import type { RegistryApiServer } from "@onramp/registry-api";
import { silentLogger } from "@onramp/telemetry";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiTlsOf, serveRegistryApi } from "../registry-api-flags.js";
import { createApiClient } from "./api-client.js";

// The registry API over HTTPS (docs/security.md, "The registry API over TLS"): `--api-tls-cert`
// and `--api-tls-key` on the server, the system CAs or `--api-ca` on the client.
const KEY = "api-tls-test-key-0123456789";
let dir: string;
let ca: string;
let otherCa: string;
let server: RegistryApiServer;

function openssl(...args: string[]): void {
  execFileSync("openssl", args, { stdio: "pipe" });
}

function newCa(name: string): string {
  openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", join(dir, `${name}.key`), "-out", join(dir, `${name}.crt`), "-days", "2", "-subj", `/CN=${name}`);
  return readFileSync(join(dir, `${name}.crt`), "utf8");
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "onramp-api-tls-"));
  ca = newCa("api-ca");
  otherCa = newCa("other-ca");
  writeFileSync(join(dir, "api.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", join(dir, "api.key"), "-out", join(dir, "api.csr"), "-subj", "/CN=api");
  openssl("x509", "-req", "-in", join(dir, "api.csr"), "-CA", join(dir, "api-ca.crt"), "-CAkey", join(dir, "api-ca.key"), "-set_serial", "2", "-days", "2", "-extfile", join(dir, "api.ext"), "-out", join(dir, "api.crt"));
  const flags = { apiKey: KEY, apiTlsCert: join(dir, "api.crt"), apiTlsKey: join(dir, "api.key") };
  server = await serveRegistryApi(createMemoryControlStore(), "127.0.0.1:0", flags, silentLogger());
});

afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("the registry API with --api-tls-cert and --api-tls-key", () => {
  it("serves HTTPS, which a client given the CA (--api-ca) uses", async () => {
    expect(server.url).toBe(`https://${server.address}`);
    const client = createApiClient({ apiUrl: server.url, apiKey: KEY, ca });
    const answer = await client.send("GET", "/v1/authtokens");
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ authtokens: [] });
  });

  it("is refused by a client that does not trust its certificate, which says how to fix it", async () => {
    for (const options of [{}, { ca: otherCa }]) {
      const client = createApiClient({ apiUrl: server.url, apiKey: KEY, ...options });
      const error = await client.send("GET", "/v1/authtokens").catch((err: unknown) => err);
      expect(error).toBeInstanceOf(OnrampError);
      expect((error as Error).message).toContain(`cannot use the Onramp API at ${server.url}: its TLS certificate does not verify`);
      expect((error as Error).message).toContain("--api-ca");
    }
  });

  it("answers a plain-HTTP client with nothing it can take for an answer", async () => {
    const client = createApiClient({ apiUrl: `http://${server.address}`, apiKey: KEY });
    const answer = await client.send("GET", "/v1/authtokens").then(
      (r) => r.status,
      () => "failed",
    );
    expect(answer === "failed" || (typeof answer === "number" && answer >= 400)).toBe(true);
  });
});

describe("--api-tls-cert and --api-tls-key", () => {
  it("come together, and a file that cannot be read is named", () => {
    expect(() => apiTlsOf({ apiTlsCert: join(dir, "api.crt") })).toThrow("--api-tls-cert and --api-tls-key come together");
    expect(() => apiTlsOf({ apiTlsCert: join(dir, "missing.crt"), apiTlsKey: join(dir, "api.key") })).toThrow(/--api-tls-cert .*missing\.crt cannot be read: ENOENT/);
  });

  it("must be a matching pair: a key of another certificate fails the start", async () => {
    const flags = { apiTlsCert: join(dir, "api.crt"), apiTlsKey: join(dir, "other-ca.key") };
    await expect(serveRegistryApi(createMemoryControlStore(), "127.0.0.1:0", flags, silentLogger())).rejects.toThrow(/registry API option tls/);
  });
});
