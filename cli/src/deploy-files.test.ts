import type { Command } from "commander";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { registerEdgeCommand } from "./commands/edge.js";
import { registerHttpCommand } from "./commands/http.js";
import { OnrampCommand } from "./onramp-command.js";
import { EXIT_WITH_PARENT_ENV } from "./parent-watch.js";
import { parseDuration } from "./units.js";

/**
 * The systemd units, their env examples and the Kubernetes manifests name commands, ONRAMP_*
 * variables and drain timeouts of the CLI: a renamed flag or a longer default drain must not
 * leave them quietly wrong.
 */

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const read = (path: string) => readFileSync(`${ROOT}${path}`, "utf8");

const program = new OnrampCommand().name("onramp");
registerEdgeCommand(program);
registerHttpCommand(program);
const commandNamed = (name: string) => program.commands.find((c) => c.name() === name)!;

/** The ONRAMP_* variables a command reads: one per flag, and the parent watch's. */
function variablesOf(command: Command): Set<string> {
  return new Set([...command.options.flatMap((o) => (o.envVar ? [o.envVar] : [])), EXIT_WITH_PARENT_ENV]);
}

/** The default of --drain-timeout, from its help ("… (default 10s)"). */
function defaultDrainMs(command: Command): number {
  const option = command.options.find((o) => o.long === "--drain-timeout")!;
  return parseDuration("--drain-timeout", /\(default (\w+)\)/.exec(option.description)![1]!);
}

/** [section] → key → values (a key may repeat), without comments. */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const line of text.split("\n").map((l) => l.trim())) {
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section) {
      current = new Map();
      sections.set(section[1]!, current);
      continue;
    }
    const eq = line.indexOf("=");
    const key = line.slice(0, eq);
    current!.set(key, [...(current!.get(key) ?? []), line.slice(eq + 1)]);
  }
  return sections;
}

const seconds = (value: string) => parseDuration("TimeoutStopSec", value.replace(/^(\d+)$/, "$1s"));
const onrampNames = (text: string) => new Set(text.match(/\bONRAMP_[A-Z0-9_]+/g) ?? []);

const UNITS = [
  { unit: "onramp-edge.service", example: "edge.env.example", env: "/etc/onramp/edge.env", command: "edge", extra: [] as string[] },
  { unit: "onramp-agent.service", example: "agent.env.example", env: "/etc/onramp/agent.env", command: "http", extra: ["ONRAMP_UPSTREAM"] },
];

describe.each(UNITS)("deploy/systemd/$unit", ({ unit, example, env, command, extra }) => {
  const text = read(`deploy/systemd/${unit}`);
  const service = parseUnit(text).get("Service")!;
  const cli = commandNamed(command);
  const known = new Set([...variablesOf(cli), ...extra]);

  it("runs the installed CLI's command, as the onramp user, with its env file", () => {
    const exec = service.get("ExecStart")!;
    expect(exec).toHaveLength(1);
    const [envBin, node, script, subcommand] = exec[0]!.split(/\s+/);
    expect([envBin, node]).toEqual(["/usr/bin/env", "node"]);
    expect(script).toBe("/opt/onramp/cli/bin/onramp.js");
    expect(existsSync(`${ROOT}${script!.replace("/opt/onramp/", "")}`)).toBe(true);
    expect(subcommand).toBe(command);
    expect(service.get("User")).toEqual(["onramp"]);
    expect(service.get("Group")).toEqual(["onramp"]);
    expect(service.get("EnvironmentFile")).toEqual([env]);
    expect(service.get("KillSignal")).toEqual(["SIGTERM"]);
  });

  it("gives the drain more time than the default drain timeout", () => {
    const [timeout] = service.get("TimeoutStopSec")!;
    expect(seconds(timeout!)).toBeGreaterThan(defaultDrainMs(cli));
  });

  it("names only ONRAMP_* variables the command reads", () => {
    expect([...onrampNames(text)].filter((n) => !known.has(n))).toEqual([]);
  });

  it(`has an example env file that documents every variable of onramp ${command}, and no others`, () => {
    const names = onrampNames(read(`deploy/systemd/${example}`));
    expect([...known].filter((n) => !names.has(n))).toEqual([]);
    expect([...names].filter((n) => !known.has(n))).toEqual([]);
  });
});

describe.each([
  { file: "deploy/kubernetes/edge.yaml", command: "edge" },
  { file: "deploy/kubernetes/agent.yaml", command: "http" },
])("$file", ({ file, command }) => {
  const docs = parseAllDocuments(read(file));
  const cli = commandNamed(command);
  const deployment = docs.map((d) => d.toJS() as Record<string, any>).find((d) => d.kind === "Deployment")!;
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];
  const known = new Set([...variablesOf(cli), "ONRAMP_UPSTREAM", "ONRAMP_HEALTHCHECK_URL", "ONRAMP_HEALTHCHECK_EXPECT"]);

  it("is valid YAML", () => {
    for (const doc of docs) expect(doc.errors).toEqual([]);
  });

  it(`runs onramp ${command} with variables it reads`, () => {
    expect(container.args[0]).toBe(command);
    const names = (container.env as { name: string }[]).map((e) => e.name);
    expect(names.filter((n) => n.startsWith("ONRAMP_") && !known.has(n))).toEqual([]);
  });

  it("gives the drain more time than its timeout", () => {
    const drain = (container.env as { name: string; value?: string }[]).find((e) => e.name === "ONRAMP_DRAIN_TIMEOUT")?.value;
    const drainMs = drain ? parseDuration("ONRAMP_DRAIN_TIMEOUT", drain) : defaultDrainMs(cli);
    expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(drainMs);
  });
});
