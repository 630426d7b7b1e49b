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

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "500ms", "30s", "5m", "1h", or plain milliseconds → milliseconds. */
export function parseDuration(field: string, text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/i.exec(text);
  if (!m) throw bad(field, text, "a duration like 500ms, 30s, 5m or 1h");
  return Math.round(Number(m[1]) * DURATION_UNITS[(m[2] ?? "ms").toLowerCase()]!);
}

function bad(field: string, text: string, want: string): OnrampError {
  return new OnrampError(ErrorCode.InvalidArgument, `${field}: ${JSON.stringify(text)} is not ${want}`);
}

/** A pool weight from a flag or config value: an integer 1–1000. */
export function parsePoolWeight(value: unknown, where: string): number {
  const n = typeof value === "number" ? value : typeof value === "string" && /^\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 1000) {
    throw new OnrampError(ErrorCode.InvalidArgument, `${where}: must be an integer from 1 to 1000 (the member's share of the pool relative to the others), got ${JSON.stringify(value)}`);
  }
  return n;
}
