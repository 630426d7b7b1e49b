import { ErrorCode, OnrampError, parseErrorCode } from "@onramp/errors";
import type { ApiResponse } from "./api-client.js";

/** The body of every error the API answers (see docs/api.md, Errors). */
interface ApiErrorBody {
  error_code?: unknown;
  status_code?: unknown;
  msg?: unknown;
  details?: { errors?: unknown; field?: unknown };
}

/** One entry of a 422's `details.errors`: a traffic policy problem and where it is. */
interface PolicyErrorDetail {
  message?: unknown;
  line?: unknown;
  column?: unknown;
  rule?: unknown;
  field?: unknown;
}

/**
 * Turns a non-2xx answer into an OnrampError with the API's `msg` and code. For a 422, the
 * message is the first line of `msg` followed by one line per policy error, compiler style, as
 * `onramp policy check` prints them — `policy.yml:2:19: on_http_request[0]: expressions[0]: …` —
 * named after `policySource`, the file the policy came from (`traffic_policy` when inline, which
 * is also the name the API puts in its own `msg`).
 */
export function describeFailure(response: ApiResponse, policySource = "traffic_policy"): OnrampError {
  const body = isObject(response.body) ? (response.body as ApiErrorBody) : undefined;
  const msg = typeof body?.msg === "string" && body.msg.trim() !== "" ? body.msg : undefined;
  if (!body || msg === undefined) {
    // Not the API's error shape: a proxy, or another server on that port.
    const hint = response.status === 404 ? "; is --api-url the Onramp API?" : "";
    const location = response.status >= 300 && response.status < 400 ? " (a redirect: use the URL it points to as --api-url)" : "";
    return new OnrampError(codeForStatus(response.status), `${response.url} answered HTTP ${response.status}${location}${hint}`);
  }
  const code = typeof body.error_code === "string" ? parseErrorCode(body.error_code.replace(/^ERR_ONRAMP_/, "")) : codeForStatus(response.status);
  const problems = response.status === 422 && Array.isArray(body.details?.errors) ? (body.details.errors as unknown[]).filter(isObject) : [];
  if (problems.length === 0) return new OnrampError(code, msg);
  // The API's msg lists the problems too, under its own name for the text: the first line is the summary.
  const summary = msg.split("\n")[0]!.trimEnd();
  const lines = problems.map((e) => policyErrorLine(e as PolicyErrorDetail, policySource));
  return new OnrampError(code, [summary.endsWith(":") ? summary : `${summary}:`, ...lines].join("\n"));
}

function policyErrorLine(e: PolicyErrorDetail, source: string): string {
  const message = typeof e.message === "string" ? e.message : "invalid";
  const where = typeof e.line === "number" ? (typeof e.column === "number" ? `${source}:${e.line}:${e.column}` : `${source}:${e.line}`) : source;
  // The loader's message says what is wrong, not where; rule and field say where in the document.
  const scope = [e.rule, e.field].filter((part): part is string => typeof part === "string" && part !== "");
  const prefix = scope.length > 0 && !message.startsWith(`${scope[0]}`) ? `${scope.join(": ")}: ` : "";
  return `${where}: ${prefix}${message}`;
}

function codeForStatus(status: number): ErrorCode {
  switch (status) {
    case 400:
    case 405:
      return ErrorCode.InvalidArgument;
    case 401:
      return ErrorCode.Unauthorized;
    case 403:
      return ErrorCode.AccessDenied;
    case 404:
      return ErrorCode.NotFound;
    case 409:
      return ErrorCode.AlreadyExists;
    case 413:
      return ErrorCode.BodyTooLarge;
    case 422:
      return ErrorCode.PolicyInvalid;
    case 503:
      return ErrorCode.RegistryUnavailable;
    default:
      return ErrorCode.Internal;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
