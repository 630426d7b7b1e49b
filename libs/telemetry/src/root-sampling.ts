import { randomFillSync } from "node:crypto";

/**
 * The sampler `OTEL_TRACES_SAMPLER[_ARG]` asks for, as rules Tracing.start applies (the SDK's
 * samplers' rules): with `traceidratio` at 0.01, 99 of 100 requests that start a trace record
 * nothing, and those build nothing but their traceparent.
 */
export interface SamplingPlan {
  /** The sampler follows a parent's decision (`parentbased_*`, the default). */
  readonly parentBased: boolean;
  /**
   * For a new trace (no parent): the bound `accumulate(traceId)` must stay under for the trace to
   * be sampled, as the SDK's TraceIdRatioBasedSampler computes it; undefined when every new trace
   * is sampled (always_on: nothing to skip).
   */
  readonly rootUpperBound: number | undefined;
}

const SAMPLERS = ["always_on", "always_off", "traceidratio", "parentbased_always_on", "parentbased_always_off", "parentbased_traceidratio"];

/** The sampling of the standard variables; an unknown sampler name is an error naming the variable. */
export function samplingPlan(env: NodeJS.ProcessEnv): SamplingPlan {
  const name = env.OTEL_TRACES_SAMPLER?.trim().toLowerCase() || "parentbased_always_on";
  if (!SAMPLERS.includes(name)) throw new Error(`OTEL_TRACES_SAMPLER=${name} is not a sampler Onramp supports; use one of ${SAMPLERS.join(", ")}`);
  const parentBased = name.startsWith("parentbased_");
  const kind = parentBased ? name.slice("parentbased_".length) : name;
  const ratio = kind === "always_on" ? 1 : kind === "always_off" ? 0 : ratioOf(env.OTEL_TRACES_SAMPLER_ARG);
  return {
    parentBased,
    // The SDK's rule (TraceIdRatioBasedSampler): sampled when accumulate(id) < floor(ratio × 0xffffffff).
    rootUpperBound: ratio >= 1 ? undefined : ratio <= 0 ? 0 : Math.floor(ratio * 0xffffffff),
  };
}

/** OTEL_TRACES_SAMPLER_ARG as the spec reads it: a number in [0, 1], 1 when absent or not a number. */
function ratioOf(arg: string | undefined): number {
  const value = arg === undefined || arg.trim() === "" ? Number.NaN : Number(arg);
  return Number.isNaN(value) ? 1 : Math.min(1, Math.max(0, value));
}

/** The value TraceIdRatioBasedSampler compares: the XOR of the trace id's four 32-bit words. */
export function accumulate(traceId: string): number {
  let accumulation = 0;
  for (let i = 0; i < 32; i += 8) accumulation = (accumulation ^ Number.parseInt(traceId.slice(i, i + 8), 16)) >>> 0;
  return accumulation;
}

const POOL_BYTES = 4096;

/** Random trace and span ids, hex, from a pool refilled with crypto randomness 4 KiB at a time. */
export class TraceIds {
  private readonly pool = Buffer.alloc(POOL_BYTES);
  private offset = POOL_BYTES;
  /** Where in the pool the ids of `drawRoot()` are: 16 bytes of trace id, then 8 of span id. */
  private root = 0;
  /** A traceparent with flags 00 that `rootTraceparent()` fills in. */
  private readonly scratch = Buffer.from(`00-${"0".repeat(32)}-${"0".repeat(16)}-00`, "latin1");
  traceId(): string {
    return this.hex(16);
  }

  spanId(): string {
    return this.hex(8);
  }

  /**
   * Draws the trace id and root span id of a new trace and returns `accumulate()` of the trace id,
   * the value the sampler decides on; `rootTraceparent()` or `rootTraceId()` then give them.
   */
  drawRoot(): number {
    const p = this.pool;
    for (;;) {
      if (this.offset + 24 > POOL_BYTES) {
        randomFillSync(p);
        this.offset = 0;
      }
      const at = this.offset;
      this.offset += 24;
      // An all-zero id is invalid (W3C): draw again.
      if (isZeros(p, at, at + 16) || isZeros(p, at + 16, at + 24)) continue;
      this.root = at;
      return (p.readUInt32BE(at) ^ p.readUInt32BE(at + 4) ^ p.readUInt32BE(at + 8) ^ p.readUInt32BE(at + 12)) >>> 0;
    }
  }

  /** `00-<trace id>-<span id>-00` of the ids `drawRoot()` drew last: one flat string, formatted in place. */
  rootTraceparent(): string {
    const p = this.pool;
    const out = this.scratch;
    for (let i = 0; i < 16; i++) writeHexByte(out, 3 + 2 * i, p[this.root + i]!);
    for (let i = 0; i < 8; i++) writeHexByte(out, 36 + 2 * i, p[this.root + 16 + i]!);
    return out.toString("latin1");
  }

  /** The root span id `drawRoot()` drew last, hex. */
  rootSpanId(): string {
    return this.pool.toString("hex", this.root + 16, this.root + 24);
  }

  /** The trace id `drawRoot()` drew last, hex. */
  rootTraceId(): string {
    return this.pool.toString("hex", this.root, this.root + 16);
  }

  private hex(bytes: number): string {
    for (;;) {
      if (this.offset + bytes > POOL_BYTES) {
        randomFillSync(this.pool);
        this.offset = 0;
      }
      const from = this.offset;
      this.offset += bytes;
      // An all-zero id is invalid (W3C): draw again.
      if (!isZeros(this.pool, from, this.offset)) return this.pool.toString("hex", from, this.offset);
    }
  }
}

function isZeros(bytes: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (bytes[i] !== 0) return false;
  return true;
}

/** ASCII codes of the lowercase hex digits. */
const HEX_DIGITS = Buffer.from("0123456789abcdef", "latin1");

function writeHexByte(out: Buffer, at: number, byte: number): void {
  out[at] = HEX_DIGITS[byte >> 4]!;
  out[at + 1] = HEX_DIGITS[byte & 15]!;
}
