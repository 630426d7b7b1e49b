import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEdge, type EdgeProcess } from "./harness/cluster.js";
import { send } from "./harness/http-client.js";
import { startOnramp, stopAll } from "./harness/processes.js";
import { startUpstream, type Upstream } from "./harness/upstream.js";

// A single edge with its embedded backends serves the registry API over its own in-memory state:
// tokens made through the API are the ones the edge admits agents with, at once.
const KEY = "e2e-embedded-api-key";
let edge: EdgeProcess;
let api: string;
let upstream: Upstream;

beforeAll(async () => {
  upstream = await startUpstream();
  edge = await startEdge(["--api-key", KEY]);
  const line = await edge.proc.waitForLine("stderr", /"msg":"registry API ready"/);
  api = `http://${(JSON.parse(line) as { address: string }).address}`;
});

afterAll(async () => {
  await stopAll();
  await upstream.close();
});

/** `onramp api …` against the edge's API; resolves with its exit code and output. */
async function onrampApi(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const proc = startOnramp("api", ["api", ...args, "--api-url", api, "--api-key", KEY]);
  const { code } = await proc.exited;
  return { code, stdout: proc.stdout.join("\n"), stderr: proc.stderr.join("\n") };
}

describe("the registry API of a single edge", () => {
  it("issues a token whose ACL the same edge enforces: the allowed URL binds, another is denied", async () => {
    const created = await onrampApi(["authtokens", "create", "--description", "team-a", "--acl", "bind:a.e2e.localhost", "--json"]);
    expect(created.code, created.stderr).toBe(0);
    const { token, id } = JSON.parse(created.stdout) as { token: string; id: string };
    expect(id).toMatch(/^tok_/);

    const allowed = startOnramp("agent-a", ["http", upstream.target, "--edge", edge.agent, "--authtoken", token, "--url", "http://a.e2e.localhost"]);
    await allowed.waitForLine("stdout", /^Forwarding /);
    expect((await send({ base: edge.httpUrl, host: "a.e2e.localhost", path: "/hello" })).status).toBe(200);

    const denied = startOnramp("agent-b", ["http", upstream.target, "--edge", edge.agent, "--authtoken", token, "--url", "http://b.e2e.localhost"]);
    expect((await denied.exited).code).toBe(1);
    expect(denied.stderr.join("\n")).toMatch(/binding http:\/\/b\.e2e\.localhost is denied: .*bind:b\.e2e\.localhost/);

    const listed = await onrampApi(["authtokens", "list"]);
    expect(listed.stdout).toContain(id);
    expect(listed.stdout).not.toContain(token);
  });

  it("answers 401 without the key, and serves its OpenAPI document to anyone", async () => {
    expect((await fetch(`${api}/v1/authtokens`)).status).toBe(401);
    const doc = (await (await fetch(`${api}/openapi.json`)).json()) as { openapi: string };
    expect(doc.openapi).toMatch(/^3\.1/);
  });
});
