import { OnrampError } from "@onramp/errors";
import type { LineCounter, Node } from "yaml";

/** One thing wrong with a config file, at a 1-based line and column of it. */
export interface ConfigProblem {
  readonly line: number;
  readonly column: number;
  readonly message: string;
}

/**
 * Collects every problem of a config file with its position instead of stopping at the first,
 * so `onramp config check` can list them all, compiler style.
 */
export class ConfigProblems {
  readonly list: ConfigProblem[] = [];

  constructor(private readonly lines: LineCounter) {}

  /** A problem at `node`, or at the start of the file when there is no node (a missing key of the top level). */
  at(node: Node | null | undefined, message: string): void {
    this.atOffset(node?.range?.[0] ?? 0, message);
  }

  atOffset(offset: number, message: string): void {
    const { line, col } = this.lines.linePos(offset);
    this.list.push({ line, column: col, message });
  }

  /** Top to bottom, as an editor shows them; problems at one place keep the order they were found in. */
  inFileOrder(): ConfigProblem[] {
    return [...this.list].sort((a, b) => a.line - b.line || a.column - b.column);
  }

  /** Runs a check that throws `OnrampError`s (the shared flag parsers do) and records its message at `node`. */
  attempt<T>(node: Node | null | undefined, check: () => T): T | undefined {
    try {
      return check();
    } catch (err) {
      if (!(err instanceof OnrampError)) throw err;
      this.at(node, err.message);
      return undefined;
    }
  }
}

/** `path:line:column: message`, one per line. */
export function formatConfigProblems(path: string, problems: readonly ConfigProblem[]): string {
  return problems.map((p) => `${path}:${p.line}:${p.column}: ${p.message}`).join("\n");
}
