import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOOPBACK_EDGE_ARGS, startEdge, TOKEN, type EdgeProcess } from "./harness/cluster.js";
import { send } from "./harness/http-client.js";
import { RunningProcess, stopAll } from "./harness/processes.js";
import { startUpstream, type Upstream } from "./harness/upstream.js";
import { until } from "./harness/within.js";

/**
 * `npx onramp …` as a user runs it. Sent SIGTERM, npx passes it to the `sh -c onramp …` it runs the
 * bin with, and sh dies without passing it on: onramp used to run on as an orphan, holding its
 * ports and its session with the edge. onramp now stops as on SIGTERM when its parent exits
 * (cli/src/parent-watch.ts).
 */

// npx must run from the workspace root to find the `onramp` bin of the workspace.
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const NPX = existsSync(join(dirname(process.execPath), "npx")) ? join(dirname(process.execPath), "npx") : "npx";
// A home of its own: the agent must not read or write a developer's config and remembered URLs.
const HOME = mkdtempSync(join(tmpdir(), "onramp-e2e-no-orphans-"));
const ENV = { ...process.env, HOME, XDG_CONFIG_HOME: join(HOME, "config"), XDG_STATE_HOME: join(HOME, "state"), npm_config_update_notifier: "false" };

let upstream: Upstream;
let edge: EdgeProcess;
/** npx processes started, and onramp processes found under them: killed at the end if a test left one running. */
const started: RunningProcess[] = [];
const found = new Set<number>();

beforeAll(async () => {
  upstream = await startUpstream();
  edge = await startEdge();
});

afterAll(async () => {
  // A test that failed before npx was stopped: its onramp (under npx's `sh -c`) goes first.
  for (const npx of started) {
    const pid = npx.hasExited ? undefined : findOnramp(npx.pid);
    if (pid !== undefined) found.add(pid);
  }
  for (const pid of found) {
    if (alive(pid)) process.kill(pid, "SIGKILL");
  }
  await stopAll();
  await upstream.close();
  rmSync(HOME, { recursive: true, force: true });
});

function startNpx(name: string, args: string[]): RunningProcess {
  const child = spawn(NPX, ["--no-install", "onramp", ...args], { cwd: ROOT, env: ENV, stdio: ["ignore", "pipe", "pipe"] });
  const npx = new RunningProcess(name, child);
  started.push(npx);
  return npx;
}

/** Children of `pid`, from /proc/<pid>/task/<tid>/children (Linux 3.5+). */
function childrenOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").split(" ").filter(Boolean).map(Number),
    );
  } catch {
    return [];
  }
}

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
  } catch {
    return [];
  }
}

/** The node process running the onramp bin among the descendants of `pid` (npx → sh -c onramp → node …/onramp). */
function findOnramp(pid: number): number | undefined {
  const queue = childrenOf(pid);
  while (queue.length > 0) {
    const p = queue.shift()!;
    const [argv0, script] = cmdline(p);
    if (argv0 && /(^|\/)node$/.test(argv0) && script && /(^|\/)onramp(\.js)?$/.test(script)) return p;
    queue.push(...childrenOf(p));
  }
  return undefined;
}

/** Running, or stopped but not yet reaped by whoever it was re-parented to: a zombie has exited. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The state follows the command name in parentheses, which may itself contain ") ".
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/** Sends SIGTERM to npx only, and waits for npx to exit and then for the onramp it started. */
async function terminateNpxAndExpectOnrampGone(npx: RunningProcess): Promise<void> {
  let onramp: number | undefined;
  await until("the onramp process under npx", () => (onramp = findOnramp(npx.pid)) !== undefined, 10_000);
  found.add(onramp!);
  expect(alive(onramp!)).toBe(true);
  process.kill(npx.pid, "SIGTERM");
  await until("npx to exit", () => npx.hasExited, 10_000);
  // One look at the parent every 500 ms, then a drain with nothing in flight.
  await until(`onramp (pid ${onramp}) to exit after its parent did\n${npx.output()}`, () => !alive(onramp!), 10_000);
  found.delete(onramp!);
  // It stopped as on SIGTERM, saying why; its stderr is the pipe npx passed down.
  await until(`the line saying the parent exited\n${npx.output()}`, () => npx.stderr.some((l) => /^onramp: parent process \(pid \d+\) exited; shutting down/.test(l)), 5_000);
}

describe("no orphans: onramp under npx stops when npx is sent SIGTERM", () => {
  it("onramp http", async () => {
    const agent = startNpx("npx onramp http", ["http", upstream.target, "--edge", edge.agent, "--authtoken", TOKEN, "--url", "http://orphan.e2e.localhost", "--no-inspect", "--log-level", "info"]);
    // Connected: bound through the edge, and serving.
    await agent.waitForLine("stdout", /^Forwarding /, 30_000);
    const reply = await send({ base: edge.httpUrl, host: `orphan.e2e.localhost:${edge.http.split(":").pop()}`, path: "/hello" });
    expect(reply.status).toBe(200);
    await terminateNpxAndExpectOnrampGone(agent);
    // The edge saw the agent go: its URL no longer answers from the upstream.
    await until("the edge to drop the endpoint", async () => {
      const r = await send({ base: edge.httpUrl, host: `orphan.e2e.localhost:${edge.http.split(":").pop()}`, path: "/hello" });
      return r.status !== 200;
    }, 10_000);
  });

  it("onramp edge", async () => {
    const npxEdge = startNpx("npx onramp edge", [...LOOPBACK_EDGE_ARGS]);
    const ready = JSON.parse(await npxEdge.waitForLine("stderr", /"msg":"edge ready"/, 30_000)) as { admin: string };
    expect((await fetch(`http://${ready.admin}/healthz`)).status).toBe(200);
    await terminateNpxAndExpectOnrampGone(npxEdge);
  });
});
