import { type ErrorCode, httpStatusOf } from "./codes.js";

/**
 * The one error type Onramp raises. `message` is short and safe to show a user; `cause` is kept
 * for logs and is never sent over the wire.
 */
export class OnrampError extends Error {
  override readonly name = "OnrampError";
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
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
