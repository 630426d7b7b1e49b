import { describe, expect, it } from "vitest";
import { ErrorCode, OnrampError, headerValueOf, httpStatusOf, parseErrorCode } from "./index.js";

describe("error codes", () => {
  it("maps every code to an HTTP status and a header value", () => {
    for (const code of Object.values(ErrorCode)) {
      expect(httpStatusOf(code)).toBeGreaterThanOrEqual(400);
      expect(headerValueOf(code)).toBe(`ERR_ONRAMP_${code}`);
    }
  });

  it("parses codes from peers and maps unknown ones to INTERNAL", () => {
    expect(parseErrorCode("UPSTREAM_TIMEOUT")).toBe(ErrorCode.UpstreamTimeout);
    expect(parseErrorCode("NO_SUCH_CODE")).toBe(ErrorCode.Internal);
  });

  it("keeps the cause but not in the message", () => {
    const cause = new Error("ECONNREFUSED 127.0.0.1:3000");
    const err = OnrampError.from(cause, ErrorCode.UpstreamRefused, "upstream refused the connection");
    expect(err.httpStatus).toBe(502);
    expect(err.message).toBe("upstream refused the connection");
    expect(err.cause).toBe(cause);
    expect(OnrampError.from(err, ErrorCode.Internal)).toBe(err);
  });
});
