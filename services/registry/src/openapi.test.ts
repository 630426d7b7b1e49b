import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { openApiDocument } from "./openapi.js";
import { fullPathOf } from "./router.js";
import { ROUTES } from "./routes.js";

const CHECKED_IN = new URL("../../../docs/openapi.json", import.meta.url);
const REGENERATE = "npx tsc -b && node scripts/generate-openapi.mjs";

interface Document {
  servers: { url: string }[];
  paths: Record<string, { servers?: { url: string }[] } & Record<string, unknown>>;
  components: Record<string, Record<string, unknown>>;
}

const doc = openApiDocument() as Document;
const METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

describe("the OpenAPI document", () => {
  it("is checked in as docs/openapi.json, as generated", () => {
    const generated = `${JSON.stringify(doc, null, 2)}\n`;
    const stored = readFileSync(CHECKED_IN, "utf8");
    expect(stored === generated, `docs/openapi.json is stale: regenerate it with \`${REGENERATE}\` and commit it`).toBe(true);
  });

  it("lists every routed method and path, and nothing else", () => {
    const routed = ROUTES.map((route) => `${route.method} ${fullPathOf(route)}`).sort();
    const documented = Object.entries(doc.paths)
      .flatMap(([path, item]) => {
        const server = item.servers?.[0]?.url ?? doc.servers[0]!.url;
        return METHODS.filter((m) => m in item).map((m) => `${m.toUpperCase()} ${server.replace(/\/$/, "")}${path}`);
      })
      .sort();
    expect(documented).toEqual(routed);
    expect(doc.servers).toEqual([{ url: "/v1" }]);
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(["/authtokens", "/authtokens/{id}", "/reserved_domains/{id}", "/cloud_endpoints/{id}", "/api_keys/{id}", "/endpoints/{id}", "/edges/{id}"]));
  });

  it("resolves every $ref", () => {
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/(\w+)\/([^"]+)"/g)];
    expect(refs.length).toBeGreaterThan(20);
    for (const [, section, name] of refs) expect(doc.components[section!]?.[name!], `#/components/${section}/${name}`).toBeDefined();
  });

  it("names each operation once and marks only the public ones as needing no key", () => {
    const operations = Object.values(doc.paths).flatMap((item) => METHODS.filter((m) => m in item).map((m) => item[m] as { operationId: string; security?: unknown[] }));
    expect(new Set(operations.map((o) => o.operationId)).size).toBe(operations.length);
    expect(operations.filter((o) => o.security !== undefined).map((o) => o.operationId).sort()).toEqual(["getHealth", "getOpenApiDocument"]);
  });
});
