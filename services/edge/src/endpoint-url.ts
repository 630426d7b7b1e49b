import { ErrorCode, OnrampError } from "@onramp/errors";

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

/**
 * Where clients reach an endpoint through an edge, as it works when typed: http:// (the edge
 * serves no TLS yet) and the edge's public port unless the URL names one or it is 80. Internal
 * endpoints keep their URL: no client reaches them directly.
 */
export function publicUrlOf(url: EndpointUrl, publicPort: number): string {
  if (url.internal) return url.url;
  const named = /:(\d+)$/.exec(url.url)?.[1];
  const port = named ?? String(publicPort);
  return `http://${url.host}${port === "80" ? "" : `:${port}`}`;
}

/** The hostname of a Host header value: lowercase, port removed, IPv6 brackets kept. */
export function hostnameOf(hostHeader: string | undefined): string | undefined {
  if (!hostHeader) return undefined;
  const host = hostHeader.trim().toLowerCase();
  if (host.startsWith("[")) {
    const end = host.indexOf("]");
    return end < 0 ? undefined : host.slice(0, end + 1);
  }
  const colon = host.indexOf(":");
  const name = colon < 0 ? host : host.slice(0, colon);
  return name.endsWith(".") ? name.slice(0, -1) : name;
}

function invalid(input: string, why: string): OnrampError {
  return new OnrampError(ErrorCode.InvalidUrl, `cannot bind ${JSON.stringify(input)}: ${why}`);
}
