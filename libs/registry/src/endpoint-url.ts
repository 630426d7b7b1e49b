import { ErrorCode, OnrampError } from "@onramp/errors";
import { createHash } from "node:crypto";

/** A URL an agent binds, normalised. Routing uses `host` only; the port is presentational. */
export interface EndpointUrl {
  /** e.g. `http://app.example.com:8080` (lowercase, no path). */
  readonly url: string;
  readonly scheme: "http" | "https";
  /** Lowercase hostname without port; may start with `*.` for a wildcard endpoint. */
  readonly host: string;
  readonly wildcard: boolean;
  /** Internal endpoints (`*.internal`) are reachable only through forward-internal, never publicly. */
  readonly internal: boolean;
}

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** Parses a bind URL: `http(s)://host[:port]` or a bare host; no path, query or credentials. */
export function parseEndpointUrl(input: string): EndpointUrl {
  const text = input.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  const wildcard = /^[a-z]+:\/\/\*\./i.test(withScheme);
  let parsed: URL;
  try {
    parsed = new URL(wildcard ? withScheme.replace("*.", "wildcard-placeholder.") : withScheme);
  } catch {
    throw invalid(input, "it is not a URL");
  }
  const scheme = parsed.protocol.slice(0, -1);
  if (scheme !== "http" && scheme !== "https") throw invalid(input, `scheme ${scheme}:// is not supported (use http:// or https://)`);
  if (parsed.username || parsed.password) throw invalid(input, "credentials are not allowed in an endpoint URL");
  if ((parsed.pathname !== "/" && parsed.pathname !== "") || parsed.search || parsed.hash) {
    throw invalid(input, "an endpoint URL has no path, query or fragment");
  }
  let host = parsed.hostname.toLowerCase();
  if (wildcard) host = host.replace("wildcard-placeholder.", "*.");
  const labels = (wildcard ? host.slice(2) : host).split(".");
  if (labels.length < 1 || !labels.every((l) => LABEL.test(l))) throw invalid(input, `${host} is not a valid hostname`);
  if (wildcard && labels.length < 2) throw invalid(input, "a wildcard needs a domain below it, like *.example.com");
  const port = parsed.port ? `:${parsed.port}` : "";
  return {
    url: `${scheme}://${host}${port}`,
    scheme,
    host,
    wildcard,
    internal: host.endsWith(".internal"),
  };
}

function invalid(input: string, why: string): OnrampError {
  return new OnrampError(ErrorCode.InvalidUrl, `cannot bind ${JSON.stringify(input)}: ${why}`);
}

/**
 * An endpoint's id: the same for the same host on every edge and in the registry API, so logs,
 * policies (`endpoint.id`) and the API agree across the mesh.
 */
export function endpointIdOf(host: string): string {
  return `ep_${createHash("sha256").update(host).digest("hex").slice(0, 12)}`;
}
