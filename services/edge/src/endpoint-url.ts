import type { EndpointUrl } from "@onramp/registry";

export { parseEndpointUrl, type EndpointUrl } from "@onramp/registry";

/**
 * Where clients reach an endpoint through an edge, as it works when typed. An https:// endpoint,
 * when the edge has an HTTPS listener: https:// and that listener's port unless the URL names one
 * or it is 443. Otherwise http:// and the edge's public port unless the URL names one or it is 80
 * (both listeners route by Host alone, so an https:// endpoint stays reachable over plain HTTP).
 * Internal endpoints keep their URL: no client reaches them directly.
 */
export function publicUrlOf(url: EndpointUrl, publicPort: number, httpsPort?: number): string {
  if (url.internal) return url.url;
  const named = /:(\d+)$/.exec(url.url)?.[1];
  if (url.scheme === "https" && httpsPort !== undefined) {
    const port = named ?? String(httpsPort);
    return `https://${url.host}${port === "443" ? "" : `:${port}`}`;
  }
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
