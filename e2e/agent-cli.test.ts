import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startEdge, TOKEN, type EdgeProcess } from "./harness/cluster.js";
import { send } from "./harness/http-client.js";
import { startOnramp, stopAll, type RunningProcess } from "./harness/processes.js";
import { startUpstream, type Upstream } from "./harness/upstream.js";
import { within } from "./harness/within.js";

// The agent CLI as a user meets it: `onramp config …`, `onramp http` and `onramp start` reading
// the config file, and the embedded edge's port and URLs. Every test is a fresh user with its own
// XDG config and state folders, so nothing here reads or writes the real ~/.config.

let edge: EdgeProcess;
let upstream: Upstream;
const held: Server[] = [];
/** Agents a test started; stopped after it even when it fails, so the next one finds its URLs free. */
const agents: RunningProcess[] = [];

beforeAll(async () => {
  [edge, upstream] = await Promise.all([startEdge([], "agent-cli-edge"), startUpstream("agent-cli")]);
});

afterEach(async () => {
  await Promise.all(agents.splice(0).map((p) => p.stop("SIGKILL")));
  await Promise.all(held.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

afterAll(async () => {
  await stopAll();
  await upstream.close();
});

interface User {
  dir: string;
  env: Record<string, string>;
  /** Where `onramp config path` says the config is. */
  config: string;
  /** The embedded edge's remembered URLs. */
  urls: string;
}

function freshUser(): User {
  const dir = mkdtempSync(join(tmpdir(), "onramp-user-"));
  const env = { HOME: dir, XDG_CONFIG_HOME: join(dir, "cfg"), XDG_STATE_HOME: join(dir, "state") };
  return { dir, env, config: join(dir, "cfg", "onramp", "onramp.yml"), urls: join(dir, "state", "onramp", "urls.json") };
}

/** Runs a command that exits by itself; its exit code and output lines. */
async function run(user: User, args: string[], env: Record<string, string> = {}) {
  const proc = startOnramp(`onramp ${args.join(" ")}`, args, { ...user.env, ...env });
  const { code } = await within(20_000, `onramp ${args.join(" ")} to exit`, proc.exited);
  return { code, stdout: proc.stdout, stderr: proc.stderr };
}

/** Starts an agent command and waits for its Forwarding lines; the URLs as printed. */
async function forwarding(user: User, args: string[], env: Record<string, string> = {}, lines = 1): Promise<{ proc: RunningProcess; urls: string[] }> {
  const proc = startOnramp(`onramp ${args.join(" ")}`, args, { ...user.env, ...env });
  agents.push(proc);
  let seen = 0;
  await proc.waitForLine("stdout", (l) => l.startsWith("Forwarding ") && ++seen === lines);
  return { proc, urls: proc.stdout.map((l) => l.split(" ")[1]!) };
}

/** A request to the edge's listener for `url`'s host. */
function get(url: string, path = "/hello", base = edge.httpUrl) {
  return send({ base, host: new URL(url).host, path });
}

/** Holds 127.0.0.1:`port` for the test, unless something else already does: either way it is taken. */
async function hold(port: number): Promise<number> {
  const server = createServer();
  const bound = await new Promise<boolean>((resolve) => {
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => resolve(true));
  });
  if (bound) held.push(server);
  return bound ? (server.address() as { port: number }).port : port;
}

/** A user whose config names the test's edge and token, plus `text`. */
async function configured(user: User, text = ""): Promise<void> {
  // Through the CLI first, so the folders exist as a user's would.
  expect((await run(user, ["config", "add-authtoken", TOKEN])).code).toBe(0);
  writeFileSync(user.config, `authtoken: ${TOKEN}\nedges: [${edge.agent}]\n${text}`);
}

describe("onramp config", () => {
  it("path prints the config file's path: under $XDG_CONFIG_HOME, else ~/.config, else --config", async () => {
    const user = freshUser();
    expect(await run(user, ["config", "path"])).toEqual({ code: 0, stdout: [user.config], stderr: [] });
    expect((await run(user, ["config", "path"], { XDG_CONFIG_HOME: "" })).stdout).toEqual([join(user.dir, ".config", "onramp", "onramp.yml")]);
    expect((await run(user, ["config", "path", "--config", "other.yml"])).stdout).toEqual(["other.yml"]);
    expect((await run(user, ["config", "--config", "other.yml", "path"])).stdout).toEqual(["other.yml"]);
  });

  it("add-authtoken and add-edge write the file 0600 in a 0700 folder, keep what is there, and say what they did", async () => {
    const user = freshUser();
    expect(await run(user, ["config", "add-authtoken", "s3cret"])).toEqual({ code: 0, stdout: [`Authtoken saved to ${user.config}`], stderr: [] });
    expect(statSync(user.config).mode & 0o777).toBe(0o600);
    expect(statSync(join(user.config, "..")).mode & 0o777).toBe(0o700);
    writeFileSync(user.config, `# my agent\n${readFileSync(user.config, "utf8")}`);
    expect(await run(user, ["config", "add-edge", "edge.example.com:4443"])).toEqual({ code: 0, stdout: [`Edge edge.example.com:4443 added to ${user.config}`], stderr: [] });
    expect(await run(user, ["config", "add-edge", "[::1]:4443"])).toMatchObject({ code: 0, stdout: [`Edge [::1]:4443 added to ${user.config}`] });
    expect(await run(user, ["config", "add-edge", "edge.example.com:4443"])).toEqual({ code: 0, stdout: [`Edge edge.example.com:4443 is already in ${user.config}`], stderr: [] });
    expect(await run(user, ["config", "add-edge", "edge.example.com"])).toEqual({
      code: 1,
      stdout: [],
      stderr: ['onramp: error: "edge.example.com" is not host:port; use e.g. onramp config add-edge edge.example.com:4443'],
    });
    expect(readFileSync(user.config, "utf8")).toBe("# my agent\nauthtoken: s3cret\nedges:\n  - edge.example.com:4443\n  - \"[::1]:4443\"\n");
    expect(await run(user, ["config", "check"])).toEqual({ code: 0, stdout: ["ok"], stderr: [] });
  });

  it("--config points the editing commands at another file", async () => {
    const user = freshUser();
    const other = join(user.dir, "elsewhere", "agent.yml");
    expect((await run(user, ["config", "add-authtoken", "t0ken", "--config", other])).stdout).toEqual([`Authtoken saved to ${other}`]);
    expect(readFileSync(other, "utf8")).toBe("authtoken: t0ken\n");
    expect((await run(user, ["config", "check"])).code).toBe(1);
  });

  it("check lists every problem as file:line:column, policies included, and exits 1", async () => {
    const user = freshUser();
    await configured(user);
    writeFileSync(join(user.config, "..", "policy.yml"), "on_http_request:\n  - actions: [{type: nope}]\n");
    writeFileSync(user.config, [
      "authtoken: s3cret",
      "colour: blue",
      "endpoints:",
      "  web:",
      "    upstream: 3000",
      "    url: foo",
      "    traffic_policy:",
      "      on_http_request:",
      "        - actions: [{type: deny, config: {status_code: 99}}]",
      "  api:",
      "    upstream: 4000",
      "    traffic_policy_file: policy.yml",
      "",
    ].join("\n"));
    const { code, stdout, stderr } = await run(user, ["config", "check"]);
    expect(code).toBe(1);
    expect(stderr).toEqual([]);
    expect(stdout.map((l) => l.replace(/ \(known: .*\)$/, " (known: …)"))).toEqual([
      `${user.config}:2:1: unknown setting "colour" (known: …)`,
      `${user.config}:6:10: endpoints.web.url "foo" is not a URL; use e.g. url: http://app.example.com or url: https://api.internal`,
      `${user.config}:9:56: on_http_request[0]: actions[0].config.status_code: must be an integer ≥ 100, got number 99`,
      `${join(user.config, "..", "policy.yml")}:2:22: on_http_request[0]: actions[0].type: unknown action type "nope" (known: …)`,
    ]);
  });

  it("check of a config that does not exist says how to create one", async () => {
    const user = freshUser();
    expect(await run(user, ["config", "check"])).toEqual({
      code: 1,
      stdout: [],
      stderr: [`onramp: error: ${user.config} does not exist; create it with onramp config add-authtoken TOKEN or onramp config add-edge HOST:PORT`],
    });
  });
});

describe("onramp http with a config file", () => {
  it("finds the edge and authtoken in the config, and prints the URL as clients type it", async () => {
    const user = freshUser();
    await configured(user);
    const { proc, urls } = await forwarding(user, ["http", upstream.target, "--url", "http://cfg.e2e.localhost"]);
    expect(urls).toEqual([`http://cfg.e2e.localhost:${new URL(edge.httpUrl).port}`]);
    expect((await get(urls[0]!)).body).toBe("hello from upstream\n");
    expect((await proc.stop("SIGINT")).code).toBe(0);
    expect(proc.stdout).toHaveLength(1);
  });

  it("takes flags over ONRAMP_* variables over the file", async () => {
    const user = freshUser();
    await configured(user);
    const refused = await run(user, ["http", upstream.target], { ONRAMP_AUTHTOKEN: "wrong" });
    expect(refused.code).toBe(1);
    expect(refused.stderr.join("\n")).toContain("authtoken rejected by the edge");

    const flagWins = await forwarding(user, ["http", upstream.target, "--authtoken", TOKEN], { ONRAMP_AUTHTOKEN: "wrong" });
    await flagWins.proc.stop("SIGINT");

    writeFileSync(user.config, `authtoken: wrong\nedges: [${edge.agent}]\n`);
    const envWins = await forwarding(user, ["http", upstream.target], { ONRAMP_AUTHTOKEN: TOKEN });
    await envWins.proc.stop("SIGINT");
  });

  it("takes a duration from the file unless a flag sets it", async () => {
    const user = freshUser();
    await configured(user, "upstream_timeout: 300ms\n");
    const fromFile = await forwarding(user, ["http", upstream.target]);
    expect((await get(fromFile.urls[0]!, "/slow/1500")).status).toBe(504);
    await fromFile.proc.stop("SIGINT");
    const fromFlag = await forwarding(user, ["http", upstream.target, "--upstream-timeout", "10s"]);
    expect((await get(fromFlag.urls[0]!, "/slow/1500")).status).toBe(200);
    await fromFlag.proc.stop("SIGINT");
  });

  it("with --config, needs the file it names to exist", async () => {
    const user = freshUser();
    expect(await run(user, ["http", upstream.target, "--config", "nope.yml"])).toEqual({
      code: 1,
      stdout: [],
      stderr: ["onramp: error: cannot read config file nope.yml: no such file"],
    });
  });

  it("names the key and line of an unknown setting", async () => {
    const user = freshUser();
    await configured(user, "authtokn: x\n");
    expect(await run(user, ["http", upstream.target])).toEqual({
      code: 1,
      stdout: [],
      stderr: [expect.stringMatching(new RegExp(`^onramp: error: ${user.config}:3:1: unknown setting "authtokn" \\(known: authtoken, edges, `))],
    });
  });
});

describe("onramp start", () => {
  const endpoints = (user: User) =>
    configured(user, `endpoints:\n  web:\n    url: http://web.e2e.localhost\n    upstream: ${upstream.target}\n  api:\n    url: http://api.e2e.localhost\n    upstream: ${upstream.target}\n`);
  const target = () => `http://${upstream.target}`;
  const port = () => new URL(edge.httpUrl).port;

  it("starts the endpoints named, and only those", async () => {
    const user = freshUser();
    await endpoints(user);
    const { proc, urls } = await forwarding(user, ["start", "web"]);
    expect(proc.stdout).toEqual([`Forwarding http://web.e2e.localhost:${port()} -> ${target()}`]);
    expect((await get(urls[0]!)).status).toBe(200);
    expect((await get("http://api.e2e.localhost")).status).toBe(404);
    expect((await proc.stop("SIGINT")).code).toBe(0);
  });

  it("starts every endpoint with --all", async () => {
    const user = freshUser();
    await endpoints(user);
    const { proc } = await forwarding(user, ["start", "--all"], {}, 2);
    expect(proc.stdout).toEqual([`Forwarding http://web.e2e.localhost:${port()} -> ${target()}`, `Forwarding http://api.e2e.localhost:${port()} -> ${target()}`]);
    expect((await proc.stop("SIGINT")).code).toBe(0);
  });

  it("refuses an unknown name, or no name without --all, listing the known ones", async () => {
    const user = freshUser();
    await endpoints(user);
    expect(await run(user, ["start", "web", "nope"])).toEqual({ code: 1, stdout: [], stderr: [`onramp: error: no endpoint "nope" in ${user.config} (known: web, api)`] });
    expect(await run(user, ["start"])).toEqual({ code: 1, stdout: [], stderr: [`onramp: error: name the endpoints to start, or use --all (in ${user.config}: web, api)`] });
  });

  it("still runs the older list form given with --config, all of its endpoints", async () => {
    const user = freshUser();
    const file = join(user.dir, "legacy.yml");
    writeFileSync(file, `edge: ${edge.agent}\nauthtoken: ${TOKEN}\nendpoints:\n  - upstream: ${upstream.target}\n    url: http://legacy.e2e.localhost\n`);
    const { proc } = await forwarding(user, ["start", "--config", file]);
    expect(proc.stdout).toEqual([`Forwarding http://legacy.e2e.localhost:${port()} -> ${target()}`]);
    await proc.stop("SIGINT");
  });

  it("runs the embedded edge when no edge is configured", async () => {
    const user = freshUser();
    await run(user, ["config", "add-authtoken", "unused"]);
    writeFileSync(user.config, `endpoints:\n  web:\n    upstream: ${upstream.target}\n`);
    const { proc, urls } = await forwarding(user, ["start", "web", "--port", "0"]);
    const url = new URL(urls[0]!);
    expect(url.hostname).toMatch(/^[a-z0-9]+\.localhost$/);
    expect((await get(urls[0]!, "/hello", `http://127.0.0.1:${url.port}`)).status).toBe(200);
    await proc.stop("SIGINT");
  });
});

describe("onramp http with the embedded edge", () => {
  it("refuses a bad --url before connecting, with an example of a good one", async () => {
    expect(await run(freshUser(), ["http", "3000", "--url", "foo"])).toEqual({
      code: 1,
      stdout: [],
      stderr: ['onramp: error: --url "foo" is not a URL; use e.g. --url http://app.example.com or --url https://api.internal'],
    });
  });

  it("listens on 8080, or says which port it took instead", async () => {
    await hold(8080);
    const user = freshUser();
    const { proc, urls } = await forwarding(user, ["http", upstream.target]);
    const port = Number(new URL(urls[0]!).port);
    expect(port).toBeGreaterThan(8080);
    expect(port).toBeLessThanOrEqual(8100);
    expect(proc.stderr).toContain(`onramp: port 8080 is in use; the embedded edge listens on ${port}`);
    expect((await get(urls[0]!, "/hello", `http://127.0.0.1:${port}`)).status).toBe(200);
    await proc.stop("SIGINT");
  });

  it("takes the --port given, or fails naming it", async () => {
    const taken = await hold(0);
    expect(await run(freshUser(), ["http", upstream.target, "--port", String(taken)])).toEqual({
      code: 1,
      stdout: [],
      stderr: [`onramp: error: port ${taken} is in use; choose another with --port, or leave --port out to use the first free one from 8080`],
    });
    expect(await run(freshUser(), ["http", upstream.target, "--port", "0", "--edge", edge.agent])).toMatchObject({
      code: 1,
      stderr: ["onramp: error: --port sets the embedded edge's port, and with an edge (from --edge) none runs; leave --port out"],
    });
  });

  it("gives an upstream the URL it had last time; --url wins", async () => {
    const user = freshUser();
    const first = await forwarding(user, ["http", upstream.target, "--port", "0"]);
    await first.proc.stop("SIGINT");
    const host = new URL(first.urls[0]!).hostname;
    expect(JSON.parse(readFileSync(user.urls, "utf8"))).toEqual({ [`http://${upstream.target}`]: host });

    const second = await forwarding(user, ["http", upstream.target, "--port", "0"]);
    expect(new URL(second.urls[0]!).hostname).toBe(host);
    const port = new URL(second.urls[0]!).port;
    expect((await get(second.urls[0]!, "/hello", `http://127.0.0.1:${port}`)).status).toBe(200);
    await second.proc.stop("SIGINT");

    const chosen = await forwarding(user, ["http", upstream.target, "--port", "0", "--url", "http://mine.localhost"]);
    expect(new URL(chosen.urls[0]!).hostname).toBe("mine.localhost");
    await chosen.proc.stop("SIGINT");
    const other = await forwarding(user, ["http", "127.0.0.1:1", "--port", "0"]);
    expect(new URL(other.urls[0]!).hostname).not.toBe(host);
    await other.proc.stop("SIGINT");
  });

  it("tells how to reach a *.localhost URL without a resolver that knows it, on stderr; stdout is the Forwarding line", async () => {
    const user = freshUser();
    const { proc, urls } = await forwarding(user, ["http", upstream.target, "--port", "0"]);
    const url = new URL(urls[0]!);
    const hint = `onramp: *.localhost resolves in browsers and curl only; from other clients use http://127.0.0.1:${url.port} with the header "Host: ${url.hostname}"`;
    await proc.waitForLine("stderr", (l) => l === hint);
    const reply = await send({ base: `http://127.0.0.1:${url.port}`, host: url.hostname, path: "/hello" });
    expect(reply.status).toBe(200);
    expect((await proc.stop("SIGINT")).code).toBe(0);
    expect(proc.stdout).toEqual([`Forwarding ${urls[0]} -> http://${upstream.target}`]);
  });
});
