import { formatPolicyErrors } from "@onramp/policy";
import { readAgentConfig } from "./agent-config.js";
import { checkConfigPolicy } from "./config-policies.js";
import { formatConfigProblems } from "./config-problems.js";

/** A formatted problem and where it is, for sorting. */
interface Located {
  filename: string;
  line: number;
  column: number;
  text: string;
}

/**
 * Everything `onramp config check` reports: the config's own problems and those of every policy
 * it refers to, inline or in a file, each as `file:line:column: …` in the order of the files.
 * The policies are checked as the edge will check them at bind time.
 */
export function checkAgentConfig(path: string): { errors: string | undefined; warnings: string | undefined } {
  const { config, problems } = readAgentConfig(path, { required: true });
  const errors: Located[] = problems.map((p) => ({ filename: path, line: p.line, column: p.column, text: formatConfigProblems(path, [p]) }));
  const warnings: Located[] = [];
  for (const endpoint of config.endpoints.list) {
    if (!endpoint.policy) continue;
    const checked = checkConfigPolicy(endpoint.policy);
    errors.push(...checked.errors.map((e) => ({ ...e, text: formatPolicyErrors([e]) })));
    warnings.push(...checked.warnings.map((e) => ({ ...e, text: formatPolicyErrors([e]) })));
  }
  return { errors: inFileOrder(path, errors), warnings: inFileOrder(path, warnings) };
}

/** The config file's problems top to bottom (inline policies among them), then each policy file's. */
function inFileOrder(configPath: string, problems: Located[]): string | undefined {
  if (problems.length === 0) return undefined;
  const rank = (p: Located) => (p.filename === configPath ? "" : p.filename);
  const sorted = [...problems].sort((a, b) => rank(a).localeCompare(rank(b)) || a.line - b.line || a.column - b.column);
  return sorted.map((p) => p.text).join("\n");
}
