import { type ErrorCode, httpStatusOf } from "./codes.js";

/**
 * The one error type Onramp raises. `message` is short and safe to show a user; `cause` is kept
 * for logs and is never sent over the wire.
 */
export class OnrampError extends Error {
  override readonly name = "OnrampError";
  readonly code: ErrorCode;
  /**
   * Set when whoever refused knows when to ask again, e.g. an edge whose workers are still
   * starting; callers then retry after about this long rather than backing off.
   */
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    super(message, options && "cause" in options ? { cause: options.cause } : undefined);
    this.code = code;
    this.retryAfterMs = options?.retryAfterMs;
  }

  get httpStatus(): number {
    return httpStatusOf(this.code);
  }

  /** Wraps anything thrown into an `OnrampError`, keeping an existing one as is. */
  static from(err: unknown, code: ErrorCode, message?: string): OnrampError {
    if (err instanceof OnrampError) return err;
    const text = message ?? (err instanceof Error ? err.message : String(err));
    return new OnrampError(code, text, { cause: err });
  }
}
