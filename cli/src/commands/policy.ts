import { formatPolicyErrors, loadPolicy } from "@onramp/policy";
import type { Command } from "commander";
import { readTextFile } from "../config-file.js";

export function registerPolicyCommand(program: Command): void {
  const policy = program.command("policy").description("work with traffic policy files");
  policy
    .command("check")
    .description("validate a traffic policy file; prints every problem with its position, or ok")
    .argument("<file>", "policy file (YAML or JSON)")
    .option("--cloud", "check it as a cloud endpoint's policy (must end in a terminating action)")
    .action((file: string, flags: { cloud?: boolean }) => {
      const result = loadPolicy(readTextFile(file, "policy file"), { filename: file, kind: flags.cloud ? "cloud" : "agent" });
      if (result.warnings.length > 0) process.stderr.write(`${formatPolicyErrors(result.warnings)}\n`);
      if (!result.ok) {
        process.stdout.write(`${formatPolicyErrors(result.errors)}\n`);
        process.exitCode = 1;
        return;
      }
      process.stdout.write("ok\n");
    });
}
