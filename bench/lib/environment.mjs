// What the numbers were measured on: versions of everything compared, the machine, the commit.
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { PEERS_DIR, REPO_DIR } from "./targets.mjs";

const run = promisify(execFile);

export async function environment() {
  const out = async (/** @type {string} */ cmd, /** @type {string[]} */ args) => {
    try {
      const { stdout, stderr } = await run(cmd, args, { cwd: REPO_DIR, timeout: 5_000 });
      return (stdout || stderr).trim().split("\n")[0];
    } catch (error) {
      // wrk -v and nginx -v print to stderr, and wrk exits 1 after printing its version.
      const e = /** @type {{ stdout?: string, stderr?: string }} */ (error);
      return (e.stdout || e.stderr || "").trim().split("\n")[0] || "unavailable";
    }
  };
  let pipenet = "not installed";
  try {
    pipenet = JSON.parse(await readFile(join(PEERS_DIR, "node_modules/pipenet/package.json"), "utf8")).version;
  } catch {}
  const commit = await out("git", ["rev-parse", "--short", "HEAD"]);
  const dirty = (await out("git", ["status", "--porcelain", "--untracked-files=no"])) ? " (with uncommitted changes)" : "";
  return {
    date: new Date().toISOString(),
    node: process.version,
    cpu: cpus()[0]?.model ?? "unknown",
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    /** Other work on the machine skews every figure; recorded so a noisy run can be recognised. */
    loadAverage1m: Math.round(loadavg()[0] * 100) / 100,
    wrk: await out("wrk", ["-v"]),
    nginx: await out("nginx", ["-v"]),
    pipenet,
    etcd: (await out("etcd", ["--version"])).replace(/^etcd Version:\s*/, ""),
    natsServer: (await out("nats-server", ["--version"])).replace(/^nats-server:\s*v?/, ""),
    onramp: `${commit}${dirty}`,
  };
}
