#!/usr/bin/env node
// Runs one compose drill: steady open-loop load from the host through edge A's published port,
// a strike (a shell command: docker kill, pause, network disconnect…) at 3 s, optionally a restore
// command some time later, then the figures and the goal. Also waits for the pool and prints the
// table. Nothing but Node is needed.
//
//   drill.mjs run --name N --goal none-failed|per-mille-3s --duration MS --strike CMD
//                 [--restore-after MS --restore CMD] [--methods get|get-post]
//   drill.mjs wait-pool agent-a,agent-b [--timeout MS]   until A's pool is exactly these, all healthy
//   drill.mjs table                                       prints the table; exits 1 if a goal was missed
//
// Environment: DRILL_TARGET (edge A's public URL), DRILL_ADMIN (A's admin host:port), DRILL_HOST
// (Host header, default api.localhost), DRILL_POOL (default https://foo.internal), DRILL_RATE
// (requests/s, default 200), DRILL_RESULTS (JSON lines file the results are appended to).
import { exec } from "node:child_process";
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { atMostOnePerMille, getText, measure, noneFailed, noneWaitsOver, renderTable, retriedAt } from "./figures.mjs";
import { startLoad } from "./load.mjs";

const STRIKE_AT_MS = 3_000;
const env = (name, fallback) => process.env[name] || fallback;
const GOALS = {
  "none-failed": { text: "0 failed", check: noneFailed },
  "per-mille-3s": { text: "≤ 0.1% failed, none waits > 3 s", check: (f) => [...atMostOnePerMille(f), ...noneWaitsOver(3_000)(f)] },
};

const [command, ...rest] = process.argv.slice(2);
try {
  if (command === "run") process.exitCode = await run(rest);
  else if (command === "wait-pool") await waitPool(rest);
  else if (command === "table") process.exitCode = table();
  else throw new Error(`unknown command ${command ?? "(none)"}: run, wait-pool or table`);
} catch (err) {
  console.error(`drill: ${err.message}`);
  process.exitCode = 2;
}

async function run(args) {
  const { values: o } = parseArgs({
    args,
    options: {
      name: { type: "string" },
      goal: { type: "string", default: "none-failed" },
      duration: { type: "string", default: "6000" },
      strike: { type: "string" },
      "restore-after": { type: "string" },
      restore: { type: "string" },
      methods: { type: "string", default: "get" },
    },
  });
  const goal = GOALS[o.goal];
  if (!o.name || !goal) throw new Error(`run needs --name and --goal (${Object.keys(GOALS).join(", ")})`);
  const durationMs = Number(o.duration);
  const admin = env("DRILL_ADMIN", "127.0.0.1:4042");
  const requestFor =
    o.methods === "get-post"
      ? (i) => (i % 2 === 0 ? { method: "GET", path: `/items/${i}` } : { method: "POST", path: "/orders", body: JSON.stringify({ order: i, note: "drill" }) })
      : undefined;
  const retriedBefore = await retriedAt(admin);
  const load = startLoad({ base: env("DRILL_TARGET", "http://127.0.0.1:8080"), host: env("DRILL_HOST", "api.localhost"), rate: Number(env("DRILL_RATE", "200")), durationMs, requestFor });
  await load.at(STRIKE_AT_MS);
  const eventMs = load.elapsed();
  const problems = [];
  if (o.strike) await shell(o.strike).catch((err) => problems.push(`the strike failed: ${err.message}`));
  if (o.restore) {
    await load.at(eventMs + Number(o["restore-after"] ?? 0));
    await shell(o.restore).catch((err) => problems.push(`the restore failed: ${err.message}`));
  }
  const samples = await load.done;
  const figures = measure(samples, eventMs, (await retriedAt(admin)) - retriedBefore);
  const result = { name: o.name, goal: goal.text, figures, violations: [...problems, ...goal.check(figures)] };
  const results = process.env.DRILL_RESULTS;
  if (results) appendFileSync(results, JSON.stringify(result) + "\n");
  const met = result.violations.length === 0 ? "goal met" : `GOAL MISSED: ${result.violations.join("; ")}`;
  console.log(`drill ${o.name}: sent ${figures.sent}, failed ${figures.failed}, recovery ${Math.round(figures.recoveryMs)} ms, max ${Math.round(figures.maxMs)} ms — ${met}`);
  if (figures.failed > 0) {
    const when = `sent from ${Math.round(figures.firstFailureStartMs)} ms after the strike, the last ended ${Math.round(figures.lastFailureMs ?? 0)} ms after it`;
    console.log(`  failures (${when}):\n${figures.examples.map((e) => `    ${e}`).join("\n")}`);
  }
  return result.violations.length === 0 ? 0 : 1;
}

async function waitPool(args) {
  const { values: o, positionals } = parseArgs({ args, allowPositionals: true, options: { timeout: { type: "string", default: "90000" } } });
  const want = (positionals[0] ?? "").split(",").filter(Boolean).sort();
  const pool = env("DRILL_POOL", "https://foo.internal");
  const deadline = Date.now() + Number(o.timeout);
  let last = "nothing yet";
  for (;;) {
    try {
      const { endpoints } = JSON.parse((await getText(`http://${env("DRILL_ADMIN", "127.0.0.1:4042")}/api/endpoints`, 2_000)).text);
      const members = endpoints.find((e) => e.url === pool)?.members ?? [];
      const ids = members.map((m) => m.agent_id).sort();
      const unwell = members.filter((m) => m.healthy === false || m.ready === false || m.ejected_until).map((m) => m.agent_id);
      last = `members [${ids.join(", ")}]${unwell.length ? `, not yet healthy: ${unwell.join(", ")}` : ""}`;
      if (ids.join() === want.join() && unwell.length === 0) return;
    } catch (err) {
      last = err.cause?.code ? `${err.message} (${err.cause.code})` : err.message;
    }
    if (Date.now() > deadline) throw new Error(`the pool at A is not [${want.join(", ")}] after ${o.timeout} ms: ${last}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function table() {
  const file = process.env.DRILL_RESULTS;
  if (!file || !existsSync(file)) throw new Error("no results: set DRILL_RESULTS to the file the drills wrote");
  const results = readFileSync(file, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line));
  console.log(renderTable(results));
  return results.every((r) => r.violations.length === 0) ? 0 : 1;
}

function shell(cmd) {
  return new Promise((resolve, reject) =>
    exec(cmd, { timeout: 60_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${cmd}: ${(stderr || err.message).trim().slice(0, 300)}`)) : resolve(stdout))),
  );
}
