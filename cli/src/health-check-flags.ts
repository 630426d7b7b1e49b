import type { AgentStatus, HealthCheckOptions } from "@onramp/agent";
import { ErrorCode, OnrampError } from "@onramp/errors";
import type { Command } from "commander";
import { parseDuration } from "./units.js";

/** The --health-check-* flags as commander hands them over. */
export interface HealthCheckFlags {
  healthCheckPath?: string;
  healthCheckInterval?: string;
  healthCheckTimeout?: string;
  healthCheckHealthyThreshold?: string;
  healthCheckUnhealthyThreshold?: string;
}

/** Adds the --health-check-* flags, shared by the agent commands; they apply to every endpoint of the agent. */
export function addHealthCheckFlags(command: Command): Command {
  return command
    .option("--health-check-path <path>", "check the upstream with a GET of this path, e.g. /healthz; 200-399 passes (default: a TCP connect)")
    .option("--health-check-interval <duration>", "time between checks of the upstream; 0 disables them (default 2s)")
    .option("--health-check-timeout <duration>", "time one check has; less than the interval (default 1s)")
    .option("--health-check-healthy-threshold <n>", "passes in a row that make an unhealthy upstream healthy again, 1-10 (default 2)")
    .option("--health-check-unhealthy-threshold <n>", "failures in a row that make the upstream unhealthy: the edges stop sending it traffic, 1-10 (default 2)");
}

/** The flags as agent options; ranges are checked by the agent, which names the option. */
export function healthCheckOptions(flags: HealthCheckFlags): HealthCheckOptions {
  const duration = (flag: string, text: string | undefined) => (text === undefined ? undefined : parseDuration(flag, text));
  return {
    path: flags.healthCheckPath,
    intervalMs: duration("--health-check-interval", flags.healthCheckInterval),
    timeoutMs: duration("--health-check-timeout", flags.healthCheckTimeout),
    healthyThreshold: wholeNumber("--health-check-healthy-threshold", flags.healthCheckHealthyThreshold),
    unhealthyThreshold: wholeNumber("--health-check-unhealthy-threshold", flags.healthCheckUnhealthyThreshold),
  };
}

/**
 * Turns health statuses into stderr lines, one per change of an upstream however many endpoints
 * forward to it: "onramp: upstream http://… unhealthy: <why>", then "… healthy again".
 */
export function createHealthPrinter(write: (line: string) => void = (line) => void process.stderr.write(line)): (status: AgentStatus) => void {
  const unhealthy = new Set<string>();
  return (status) => {
    if (status.kind !== "health") return;
    if (!status.healthy && !unhealthy.has(status.upstream)) {
      unhealthy.add(status.upstream);
      write(`onramp: upstream ${status.upstream} unhealthy: ${status.detail}\n`);
    } else if (status.healthy && unhealthy.delete(status.upstream)) {
      write(`onramp: upstream ${status.upstream} healthy again\n`);
    }
  };
}

function wholeNumber(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\s*\d+\s*$/.test(text)) throw new OnrampError(ErrorCode.InvalidArgument, `${flag}: ${JSON.stringify(text)} is not a whole number`);
  return Number(text);
}
