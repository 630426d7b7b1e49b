const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a Go-style duration (`"500ms"`, `"30s"`, `"1m"`, `"1h30m"`, `"1.5s"`), the form ngrok
 * policies use, into milliseconds. Returns undefined for anything else, including a bare number:
 * `rate: 60` is ambiguous (seconds? requests?) and ngrok rejects it too.
 */
export function parseDuration(text: string): number | undefined {
  const part = /(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h)/y;
  let total = 0;
  let pos = 0;
  if (text.length === 0) return undefined;
  while (pos < text.length) {
    part.lastIndex = pos;
    const m = part.exec(text);
    if (!m) return undefined;
    total += Number(m[1]) * (unitMs[m[2] ?? ""] ?? Number.NaN);
    pos = part.lastIndex;
  }
  return Number.isFinite(total) ? Math.round(total) : undefined;
}

/** Formats milliseconds back into the shortest Go-style duration, for messages. */
export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
