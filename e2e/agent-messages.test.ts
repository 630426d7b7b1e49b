import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { restartEdge, startEdge, TOKEN, type EdgeProcess } from "./harness/cluster.js";
import { startOnramp, stopAll, type RunningProcess } from "./harness/processes.js";
import { startUpstream, type Upstream } from "./harness/upstream.js";
import { until } from "./harness/within.js";

// What the user sees on stderr when the edge is away, the authtoken wrong, or a flag mistyped:
// one plain line each, never grpc-js's words, never a JSON log repeating it at the default level.

let upstream: Upstream;
/** An empty home: no agent config or remembered URLs from the machine running the tests. */
const home = mkdtempSync(join(tmpdir(), "onramp-e2e-home-"));
const env = { HOME: home, XDG_CONFIG_HOME: join(home, ".config"), XDG_STATE_HOME: join(home, ".state") };

beforeAll(async () => {
  upstream = await startUpstream();
});

afterEach(stopAll);

afterAll(async () => {
  await upstream.close();
  rmSync(home, { recursive: true, force: true });
});

/** A loopback port nothing listens on (until a test starts an edge there). */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function agent(args: string[]): RunningProcess {
  return startOnramp("agent", ["http", upstream.target, ...args], env);
}

async function exitCode(proc: RunningProcess): Promise<number | null> {
  return (await proc.exited).code;
}

const RETRY = String.raw`retrying in \d+(\.\d)? (ms|s)$`;

describe("connection messages", () => {
  it("an edge that is not there: one plain line saying what to check and when the next try is; then connected once it is up", async () => {
    const port = await closedPort();
    const addr = `127.0.0.1:${port}`;
    const proc = agent(["--edge", addr, "--authtoken", TOKEN]);
    await proc.waitForLine("stderr", new RegExp(`^onramp: cannot reach edge ${addr} \\(connection refused\\) — is \`onramp edge\` running there\\? ${RETRY}`));

    let edge: EdgeProcess = await startEdge(["--grpc-addr", addr]);
    await proc.waitForLine("stderr", (l) => l === `onramp: connected to edge ${addr}`);
    await proc.waitForLine("stdout", /^Forwarding /);

    // The edge dies: the session that was up is lost; when it is back, the agent says it reconnected.
    edge = await restartEdge(edge);
    await proc.waitForLine("stderr", new RegExp(`^onramp: lost the session with edge ${addr} \\(.+\\); reconnecting in \\d+(\\.\\d)? (ms|s)$`));
    await proc.waitForLine("stderr", (l) => l === `onramp: reconnected to edge ${addr}`);

    const stderr = proc.stderr.join("\n");
    expect(stderr).not.toMatch(/No connection established|Last error|UNAVAILABLE/);
    // At the default level no JSON log says any of it again.
    expect(proc.stderr.filter((l) => l.startsWith("{"))).toEqual([]);
    await edge.proc.stop();
  });

  it("the same failure again is said on the 1st and 4th try, not at every one; the debug log has each, with grpc-js's words", async () => {
    const addr = `127.0.0.1:${await closedPort()}`;
    const log = join(home, "agent-debug.log");
    const proc = agent(["--edge", addr, "--authtoken", TOKEN, "--log-level", "debug", "--log", log, "--log-format", "json"]);
    await proc.waitForLine("stderr", new RegExp(`^onramp: still cannot reach edge ${addr} after 4 attempts \\(connection refused\\) — is \`onramp edge\` running there\\? ${RETRY}`));
    await proc.stop();
    expect(proc.stderr.filter((l) => l.includes("cannot reach"))).toHaveLength(2);
    const retries = readFileSync(log, "utf8").trimEnd().split("\n").map((l) => JSON.parse(l) as { msg: string; problem?: string; cause?: string })
      .filter((r) => r.msg === "no session with the edge; retrying");
    expect(retries.length).toBeGreaterThanOrEqual(4);
    expect(retries.every((r) => r.problem === "refused" && /ECONNREFUSED/.test(r.cause ?? ""))).toBe(true);
  });

  it("no authtoken: exit 1, saying how to give one", async () => {
    const edge = await startEdge();
    const proc = agent(["--edge", edge.agent]);
    expect(await exitCode(proc)).toBe(1);
    expect(proc.stderr).toContain(
      `onramp: error: no authtoken given; the edge at ${edge.agent} requires one: pass --authtoken, set ONRAMP_AUTHTOKEN, or run \`onramp config add-authtoken TOKEN\``,
    );
    await edge.proc.stop();
  });

  it("a wrong authtoken: exit 1, saying it was rejected", async () => {
    const edge = await startEdge();
    const proc = agent(["--edge", edge.agent, "--authtoken", "not-the-token"]);
    expect(await exitCode(proc)).toBe(1);
    expect(proc.stderr).toContain(`onramp: error: authtoken rejected by the edge at ${edge.agent}; check --authtoken, ONRAMP_AUTHTOKEN or the authtoken in your config`);
    await edge.proc.stop();
  });
});

describe("flags checked by Onramp, with a hint", () => {
  it.each([
    [["--upstream-timeout", "5"], 'onramp: error: --upstream-timeout: "5" needs a unit, e.g. 5s or 300ms'],
    [["--log-level", "verbose"], 'onramp: error: --log-level: "verbose" is not one of trace, debug, info, warn, error, silent'],
  ])("onramp http %s", async (args, line) => {
    const proc = agent(["--edge", "127.0.0.1:1", ...args]);
    expect(await exitCode(proc)).toBe(1);
    expect(proc.stderr).toEqual([line]);
  });

  it("onramp edge --log-level verbose", async () => {
    const proc = startOnramp("edge", ["edge", "--log-level", "verbose"], env);
    expect(await exitCode(proc)).toBe(1);
    expect(proc.stderr).toEqual(['onramp: error: --log-level: "verbose" is not one of trace, debug, info, warn, error, silent']);
  });
});

describe("log destinations and formats", () => {
  it("onramp edge --log stdout --log-format logfmt", async () => {
    const proc = startOnramp("edge", ["edge", "--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--admin-addr", "", "--api-addr", "", "--authtoken", TOKEN, "--log", "stdout", "--log-format", "logfmt"], env);
    const ready = await proc.waitForLine("stdout", /msg="edge ready"/);
    expect(ready).toMatch(/^time=\S+Z level=info name=edge msg="edge ready" pid=\d+ /);
    // "edge ready" is logged a moment before the signal handlers are in place: the exit code says nothing here.
    await proc.stop();
    expect(proc.stderr).toEqual([]);
  });

  it("onramp edge --log FILE appends JSON lines (a file is no terminal)", async () => {
    const file = join(home, "edge.log");
    // Its logs go to the file, so there is no ready line to wait for: an agent that got through says it is up.
    const addr = `127.0.0.1:${await closedPort()}`;
    // No registry API: its default port (4041) may be another test's, which would warn on stderr.
    const edge = startOnramp("edge", ["edge", "--http-addr", "127.0.0.1:0", "--grpc-addr", addr, "--admin-addr", "", "--api-addr", "", "--authtoken", TOKEN, "--log", file], env);
    // Its ready line is in the file. An agent started before the edge's workers are up is told to
    // come back, and its backoff could outlast the wait for its Forwarding line on a slow machine.
    await until("the edge's log file to say it is ready", () => existsSync(file) && readFileSync(file, "utf8").includes('"edge ready"'), 30_000);
    const proc = agent(["--edge", addr, "--authtoken", TOKEN]);
    await proc.waitForLine("stdout", /^Forwarding /);
    await proc.stop();
    const exit = await edge.stop();
    // Whatever went wrong says so on stderr: compared first, it is in the failure message.
    expect(edge.stderr).toEqual([]);
    expect(exit).toMatchObject({ code: 0 });
    const messages = readFileSync(file, "utf8").trimEnd().split("\n").map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(messages).toEqual(expect.arrayContaining(["edge ready", "agent session started"]));
  });
});
