import { parseEndpointUrl } from "@onramp/edge";
import { ErrorCode, OnrampError } from "@onramp/errors";

/**
 * Checks a URL to bind before the agent connects, so a typo is refused at once with an example
 * instead of by the edge after a round trip. The edge's own parser decides what a valid host is;
 * this adds that a bare name needs a dot: `app.example.com` (as ngrok users type it) means
 * `http://app.example.com`, but a bare `foo` is more likely a mistake than a host name.
 *
 * `example` renders a good URL the way the user writes one here (`--url http://…`, `url: http://…`).
 */
export function checkBindUrl(text: string, where: string, example: (url: string) => string): string {
  const advice = `use e.g. ${example("http://app.example.com")} or ${example("https://api.internal")}`;
  const refuse = (why: string) => new OnrampError(ErrorCode.InvalidUrl, `${where} ${JSON.stringify(text)} ${why}; ${advice}`);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text.trim())?.[1]?.toLowerCase();
  if (scheme === undefined) {
    if (!/^[^/:]+\.[^/]+$/.test(text.trim())) throw refuse("is not a URL");
    return checkBindUrl(`http://${text.trim()}`, where, example);
  }
  if (scheme !== "http" && scheme !== "https") throw refuse(`has scheme ${scheme}://, and an edge serves http:// and https://`);
  try {
    return parseEndpointUrl(text).url;
  } catch (err) {
    // The edge's message is `cannot bind "<text>": <why>`; keep the why.
    const why = (err as Error).message.replace(/^cannot bind "(?:[^"\\]|\\.)*": /, "");
    throw refuse(`is not an endpoint URL (${why})`);
  }
}

/**
 * `*.localhost` names resolve to loopback in browsers and curl (RFC 6761 lets resolvers do so),
 * but not through getaddrinfo, which Node, Python and most HTTP libraries use. This is the line
 * that tells a user how to reach such a URL from those: the edge's port on 127.0.0.1 with the
 * name in the Host header. Undefined for other URLs and for wildcards, which have no one name.
 */
export function localhostHint(printedUrl: string): string | undefined {
  let url: URL;
  try {
    url = new URL(printedUrl);
  } catch {
    return undefined;
  }
  if (!url.hostname.endsWith(".localhost") || url.hostname.startsWith("*.")) return undefined;
  const loopback = `${url.protocol}//127.0.0.1${url.port ? `:${url.port}` : ""}`;
  return `onramp: *.localhost resolves in browsers and curl only; from other clients use ${loopback} with the header "Host: ${url.hostname}"`;
}
