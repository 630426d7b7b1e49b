import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startEdge, TOKEN, type EdgeProcess } from "./harness/cluster.js";
import { send } from "./harness/http-client.js";
import { ONRAMP_BIN, startOnramp, stopAll } from "./harness/processes.js";
import { startUpstream, type Upstream } from "./harness/upstream.js";
import { until, within } from "./harness/within.js";

// `onramp http` on a real terminal: a tmux server of its own (private socket) gives the agent a
// pseudo-terminal of 120x40, capture-pane reads the screen as a user sees it, and send-keys types
// Ctrl+C. The same agent with a pipe for stdout prints exactly its Forwarding line, as scripts expect.

const run = promisify(execFile);

let edge: EdgeProcess;
let upstream: Upstream;
/** The tmux sockets, config and the agents' HOME (no config or remembered URLs of the machine). */
const dir = mkdtempSync(join(tmpdir(), "onramp-e2e-tty-"));
/** A server per terminal: a new one never races the shutdown of the last. */
let servers = 0;
let socket = "";
const home = { HOME: dir, XDG_CONFIG_HOME: join(dir, "config"), XDG_STATE_HOME: join(dir, "state") };

/** remain-on-exit: the pane, and what the agent left on it, stays readable after the agent exits. */
writeFileSync(join(dir, "tmux.conf"), "set -g remain-on-exit on\nset -g status off\n");

function tmux(...args: string[]): Promise<string> {
  return run("tmux", ["-S", socket, "-f", join(dir, "tmux.conf"), ...args], { env: { ...process.env, ...home } }).then((r) => r.stdout);
}

/** The pane's text as a user sees it (no colors). */
const screen = () => tmux("capture-pane", "-p", "-t", "agent");
/** A tmux format of the pane, e.g. "#{alternate_on}". */
const pane = async (format: string) => (await tmux("display-message", "-p", "-t", "agent", format)).trim();

/**
 * Starts `onramp http` in a 120x40 pane under bash. bash survives the Ctrl+C (its trap is a no-op
 * handler, which exec resets for the agent), says how the agent exited, and waits for input, so
 * the normal screen can be read after the agent gave it back.
 */
async function startInTerminal(args: string[], env: Record<string, string> = {}): Promise<void> {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const vars = Object.entries({ ...home, ...env }).map(([k, v]) => `${k}=${quote(v)}`);
  const agent = ["env", ...vars, quote(process.execPath), quote(ONRAMP_BIN), ...args.map(quote)].join(" ");
  const script = `trap : INT; echo "before onramp"; ${agent}; echo "onramp exited with $?"; read -r _`;
  socket = join(dir, `tmux-${++servers}.sock`);
  await tmux("new-session", "-d", "-s", "agent", "-x", "120", "-y", "40", `bash -c ${quote(script)}`);
}

const agentArgs = (url: string) => ["http", upstream.target, "--edge", edge.agent, "--authtoken", TOKEN, "--url", url];

beforeAll(async () => {
  await run("tmux", ["-V"]).catch(() => {
    throw new Error("these tests need tmux for a real terminal; scripts/test.sh installs it (apt-get install tmux)");
  });
  [edge, upstream] = await Promise.all([startEdge([], "status-screen-edge"), startUpstream("status-screen")]);
});

afterEach(async () => {
  // Ends the panes' bash and any agent still in them (SIGHUP), and the server.
  if (socket) await tmux("kill-server").catch(() => undefined);
});

afterAll(async () => {
  await stopAll();
  await upstream.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("the status screen on a terminal", () => {
  it("shows the forwarding URL, the edge online with its latency, requests as they come; Ctrl+C exits and gives the terminal back", async () => {
    const url = "http://screen.e2e.localhost";
    const port = edge.http.split(":").pop();
    await startInTerminal(agentArgs(url));

    await until("the screen to show the session online with its edge and forwarding URL", async () => {
      const text = await screen();
      return /^Session Status +online$/m.test(text) && text.includes(`Forwarding                    ${url}:${port} -> http://${upstream.target}`);
    });
    expect(await pane("#{alternate_on}")).toBe("1");
    const text = await screen();
    expect(text).toMatch(/^onramp +\(Ctrl\+C to quit\)$/m);
    expect(text).toMatch(/^Version +0\.1\.0$/m);
    expect(text).toMatch(/^Connections +ttl +opn +rt1 +rt5 +p50 +p90$/m);
    expect(text).toContain("HTTP Requests");
    // The agent measures the round trip right after the edge's Welcome.
    await until("the edge's latency", async () => new RegExp(`^Edge +${edge.agent.replace(/\./g, "\\.")}  online  region local  latency \\d+(\\.\\d)?ms$`, "m").test(await screen()));

    const reply = await send({ base: edge.httpUrl, host: new URL(url).hostname, path: "/hello?from=e2e" });
    expect(reply.status).toBe(200);
    upstream.health.ok = false;
    const unhealthy = await send({ base: edge.httpUrl, host: new URL(url).hostname, path: "/healthz" }).finally(() => (upstream.health.ok = true));
    expect(unhealthy.status).toBe(503);
    await until("both requests in the list, most recent first, and counted", async () => {
      const lines = (await screen()).split("\n");
      const first = lines.findIndex((l) => /^\d\d:\d\d:\d\d\.\d{3}  GET +\/healthz +503 Service Unavailable +\d+(\.\d)? (ms|s)$/.test(l));
      const second = lines.findIndex((l) => /^\d\d:\d\d:\d\d\.\d{3}  GET +\/hello\?from=e2e +200 OK +\d+(\.\d)? (ms|s)$/.test(l));
      const counts = lines.findIndex((l) => l.startsWith("Connections"));
      return first > 0 && second === first + 1 && /^ +2 +0 /.test(lines[counts + 1] ?? "");
    });

    // A smaller terminal: the screen is redrawn to its width.
    await tmux("resize-window", "-t", "agent", "-x", "90", "-y", "30");
    await until("a redraw at 90 columns", async () => (await screen()).split("\n")[0]!.length === 90);

    await tmux("send-keys", "-t", "agent", "C-c");
    await until("the agent to exit", async () => (await screen()).includes("onramp exited with 0"));
    // Back on the normal screen, cursor shown, with what was there before; nothing of the status screen.
    expect(await pane("#{alternate_on} #{cursor_flag}")).toBe("0 1");
    const after = await screen();
    expect(after).toContain("before onramp");
    expect(after).not.toContain("Session Status");
    expect(after).not.toContain("HTTP Requests");
  });

  it("honours NO_COLOR, and --status=false keeps plain lines on the terminal", async () => {
    await startInTerminal(agentArgs("http://colorless.e2e.localhost"), { NO_COLOR: "1" });
    await until("the session online", async () => /^Session Status +online$/m.test(await screen()));
    // -e: with the escape sequences of colors and attributes.
    expect(await tmux("capture-pane", "-p", "-e", "-t", "agent")).not.toMatch(/\u001b\[[\d;]*m/);
    await tmux("kill-server");

    await startInTerminal([...agentArgs("http://plain.e2e.localhost"), "--status=false"]);
    await until("the plain Forwarding line", async () => (await screen()).includes("Forwarding http://plain.e2e.localhost:"));
    expect(await pane("#{alternate_on}")).toBe("0");
    expect(await screen()).not.toContain("Session Status");
  });
});

describe("without a terminal", () => {
  it("prints exactly the Forwarding line on stdout, requests or not", async () => {
    const proc = startOnramp("piped-agent", agentArgs("http://piped.e2e.localhost"));
    const line = await proc.waitForLine("stdout", /^Forwarding /);
    expect(line).toBe(`Forwarding http://piped.e2e.localhost:${edge.http.split(":").pop()} -> http://${upstream.target}`);
    expect((await send({ base: edge.httpUrl, host: "piped.e2e.localhost", path: "/hello" })).status).toBe(200);
    const { code } = await within(15_000, "the agent to exit after SIGTERM", proc.stop("SIGTERM"));
    expect(code).toBe(0);
    expect(proc.stdout).toEqual([line]);
  });
});
