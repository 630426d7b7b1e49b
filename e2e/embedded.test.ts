import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { send } from "./harness/http-client.js";
import { startOnramp, stopAll } from "./harness/processes.js";
import { startUpstream, type Upstream } from "./harness/upstream.js";

let upstream: Upstream;

beforeAll(async () => {
  upstream = await startUpstream();
});

afterAll(async () => {
  await stopAll();
  await upstream.close();
});

describe("onramp http with no edge configured", () => {
  it("runs an embedded edge and forwards a random *.localhost URL to the port", async () => {
    const agent = startOnramp("quickstart", ["http", String(upstream.port)]);
    const line = await agent.waitForLine("stdout", /^Forwarding /);
    expect(line).toMatch(new RegExp(`^Forwarding http://[a-z0-9]{8,10}\\.localhost:\\d+ -> http://localhost:${upstream.port}$`));
    const url = new URL(line.split(" ")[1]!);
    const reply = await send({ base: `http://127.0.0.1:${url.port}`, host: url.host, path: "/hello" });
    expect(reply.status).toBe(200);
    expect(reply.body).toBe("hello from upstream\n");
    const { code } = await agent.stop("SIGINT");
    expect(code).toBe(0);
    expect(agent.stdout).toEqual([line]);
  });

  it("explains a bad upstream argument and exits non-zero", async () => {
    const agent = startOnramp("bad-arg", ["http", "ftp://example.com"]);
    expect((await agent.exited).code).toBe(1);
    expect(agent.stderr.join("\n")).toContain("upstream scheme ftp: is not supported");
  });
});
