// Runs open-loop.mjs as its own process (so the generator never shares an event loop with the
// harness) and returns its JSON report.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { runToCompletion } from "./processes.mjs";

const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), "open-loop.mjs");

/**
 * @param {{ url: string, host?: string, rate: number, durationS: number, warmupS: number, connections: number }} opts
 * @returns {Promise<Record<string, number | null>>}
 */
export async function runOpenLoop({ url, host, rate, durationS, warmupS, connections }) {
  const args = [SCRIPT, "--url", url, "--rate", String(rate), "--duration", String(durationS), "--warmup", String(warmupS),
    "--connections", String(connections), ...(host ? ["--host", host] : [])];
  const { code, stdout, stderr } = await runToCompletion("open-loop", process.execPath, args, { timeoutMs: (durationS + 20) * 1000 });
  if (code !== 0) throw new Error(`open-loop exited with ${code}: ${stderr}`);
  return JSON.parse(stdout.trim().split("\n").pop() ?? "");
}
