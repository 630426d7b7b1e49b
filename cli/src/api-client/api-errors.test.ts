import { ErrorCode } from "@onramp/errors";
import { describe, expect, it } from "vitest";
import type { ApiResponse } from "./api-client.js";
import { describeFailure } from "./api-errors.js";

const answer = (status: number, body: unknown, text = JSON.stringify(body)): ApiResponse => ({ status, body, text, url: "http://127.0.0.1:4041/v1/x" });

describe("describeFailure", () => {
  it("keeps the API's msg and code", () => {
    const error = describeFailure(answer(409, { error_code: "ERR_ONRAMP_ALREADY_EXISTS", status_code: 409, msg: "a.example.com is reserved already", details: {} }));
    expect(error.message).toBe("a.example.com is reserved already");
    expect(error.code).toBe(ErrorCode.AlreadyExists);
  });

  it("gives a 422 its summary and one line per policy error, located in the file, rule and field as the API gives them", () => {
    const errors = [
      { message: 'unknown action type "nope"', line: 3, column: 9, rule: "on_http_request[0]", field: "actions[0].type" },
      { message: "on_http_request[1]: must end in a terminating action", line: 5, column: 5, rule: "on_http_request[1]", field: null },
      { message: "unknown top-level field", line: 1, column: 1, rule: null, field: "on_http_requests" },
      { message: "no position", rule: null, field: 7 },
      "not an object",
    ];
    const msg = "the traffic policy has 4 problems:\ntraffic_policy:3:9: on_http_request[0]: actions[0].type: unknown action type \"nope\"\n…";
    const error = describeFailure(answer(422, { error_code: "ERR_ONRAMP_POLICY_INVALID", msg, details: { errors } }), "p.yml");
    expect(error.message).toBe(
      [
        "the traffic policy has 4 problems:",
        'p.yml:3:9: on_http_request[0]: actions[0].type: unknown action type "nope"',
        "p.yml:5:5: on_http_request[1]: must end in a terminating action",
        "p.yml:1:1: on_http_requests: unknown top-level field",
        "p.yml: no position",
      ].join("\n"),
    );
    expect(error.code).toBe(ErrorCode.PolicyInvalid);
    expect(describeFailure(answer(422, { msg: "invalid", details: { errors: [{ message: "bad", line: 2, column: 5 }] } })).message).toBe("invalid:\ntraffic_policy:2:5: bad");
  });

  it("names the URL and status when the answer is not the API's error shape", () => {
    expect(describeFailure(answer(404, undefined, "not found")).message).toBe("http://127.0.0.1:4041/v1/x answered HTTP 404; is --api-url the Onramp API?");
    expect(describeFailure(answer(301, undefined, "")).message).toBe("http://127.0.0.1:4041/v1/x answered HTTP 301 (a redirect: use the URL it points to as --api-url)");
    expect(describeFailure(answer(503, { msg: "" })).code).toBe(ErrorCode.RegistryUnavailable);
  });
});
