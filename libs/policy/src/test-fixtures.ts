import type { RequestContext, TcpContext } from "./context.js";
import { createRequestContext, createTcpContext } from "./context.js";
import { type LoadPolicyOptions, loadPolicy } from "./load-policy.js";
import { formatPolicyErrors } from "./policy-error.js";
import type { Policy } from "./policy.js";
import { createMemoryRateLimitStore } from "./rate-limit-store.js";
import type { PolicyRuntime } from "./runtime.js";

/** Shared builders for this package's tests (not exported from the package). */

export interface RequestInit {
  method?: string;
  url?: string;
  headers?: Record<string, string | string[]>;
  clientIp?: string;
  contentLength?: number;
}

export function request(init: RequestInit = {}): RequestContext {
  const url = new URL(init.url ?? "https://api.example.com/");
  const headers = new Map<string, string[]>();
  for (const [k, v] of Object.entries(init.headers ?? {})) headers.set(k.toLowerCase(), Array.isArray(v) ? v : [v]);
  if (!headers.has("host")) headers.set("host", [url.host]);
  return createRequestContext({
    conn: { clientIp: init.clientIp ?? "203.0.113.7", clientPort: 51234, startedAtMs: Date.UTC(2026, 0, 1) },
    endpoint: { id: "ep_1", url: "https://api.example.com", host: "api.example.com", protocol: "https" },
    request: {
      method: init.method ?? "GET",
      scheme: url.protocol === "http:" ? "http" : "https",
      host: url.host,
      path: url.pathname,
      rawQuery: url.search.replace(/^\?/, ""),
      headers,
      ...(init.contentLength === undefined ? {} : { contentLength: init.contentLength }),
    },
  });
}

export function tcp(clientIp = "203.0.113.7"): TcpContext {
  return createTcpContext({
    conn: { clientIp, clientPort: 40000, startedAtMs: Date.UTC(2026, 0, 1) },
    endpoint: { id: "ep_tcp", url: "tcp://1.tcp.example.com:20000", host: "1.tcp.example.com", protocol: "tcp" },
  });
}

/** A runtime with a clock the test moves by hand and a scripted JSON fetcher. */
export function fakeRuntime(fetchJson?: PolicyRuntime["fetchJson"]): PolicyRuntime & { clock: { now: number } } {
  const clock = { now: Date.UTC(2026, 0, 1, 12) };
  return {
    clock,
    now: () => clock.now,
    fetchJson: fetchJson ?? (() => Promise.reject(new Error("no network in tests"))),
    httpRequest: () => Promise.reject(new Error("no network in tests")),
    rateLimits: createMemoryRateLimitStore(),
  };
}

/** Loads a policy that must be valid, failing with the formatted errors otherwise. */
export function policyOf(source: string, options: LoadPolicyOptions = {}): Policy {
  const r = loadPolicy(source, options);
  if (!r.ok) throw new Error(`policy did not load:\n${formatPolicyErrors(r.errors)}`);
  return r.policy;
}

/** Errors of a policy that must be invalid, formatted one per line. */
export function errorsOf(source: string, options: LoadPolicyOptions = {}): string {
  const r = loadPolicy(source, options);
  if (r.ok) throw new Error("policy loaded but was expected to fail");
  return formatPolicyErrors(r.errors);
}
