import { ErrorCode, OnrampError } from "@onramp/errors";

const SIZE_UNITS: Record<string, number> = {
  "": 1, b: 1,
  k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9,
  kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3,
};

/** "1048576", "512KiB", "100MB", "1GiB" → bytes. */
export function parseSize(field: string, text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? SIZE_UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined) throw bad(field, text, "a size like 1048576, 512KiB, 100MB or 1GiB");
  return Math.round(Number(m[1]) * unit);
}

/** `d` (days) for long ones like `--hsts 180d`. */
const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * "500ms", "30s", "5m", "1h", "180d" → milliseconds. A bare number is refused, naming the flag or key:
 * `--upstream-timeout 5` once meant 5 ms to the CLI and 5 s to its user. `0` alone is taken, as
 * the settings where 0 means "off" say so. A number (from YAML) follows the same rules as text.
 */
export function parseDuration(field: string, value: string | number): number {
  const text = String(value);
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(text);
  if (!m) throw bad(field, value, "a duration like 500ms, 30s, 5m or 1h");
  if (m[2] === undefined) {
    if (Number(m[1]) === 0) return 0;
    throw new OnrampError(ErrorCode.InvalidArgument, `${field}: ${JSON.stringify(value)} needs a unit, e.g. ${m[1]}s or 300ms`);
  }
  return Math.round(Number(m[1]) * DURATION_UNITS[m[2].toLowerCase()]!);
}

/** Milliseconds as a person reads them: "250 ms", "1.5 s", "12 s", "2 min 5 s". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${Number((ms / 1000).toFixed(1))} s`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  return s % 60 === 0 ? `${s / 60} min` : `${Math.floor(s / 60)} min ${s % 60} s`;
}

function bad(field: string, value: string | number, want: string): OnrampError {
  return new OnrampError(ErrorCode.InvalidArgument, `${field}: ${JSON.stringify(value)} is not ${want}`);
}

/** A pool weight from a flag or config value: an integer 1–1000. */
export function parsePoolWeight(value: unknown, where: string): number {
  const n = typeof value === "number" ? value : typeof value === "string" && /^\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 1000) {
    throw new OnrampError(ErrorCode.InvalidArgument, `${where}: must be an integer from 1 to 1000 (the member's share of the pool relative to the others), got ${JSON.stringify(value)}`);
  }
  return n;
}
