import { invalidField } from "./input.js";

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * A cloud endpoint's URL, normalised as an edge normalises a bind URL (services/edge
 * endpoint-url.ts, which a service may not import): `http(s)://host[:port]` or a bare host,
 * lowercase, no path, query or credentials; `*.example.com` for a wildcard. Routing keys on `host`.
 */
export function parseCloudEndpointUrl(input: string): { url: string; host: string } {
  const text = input.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  const wildcard = /^[a-z]+:\/\/\*\./i.test(withScheme);
  let parsed: URL;
  try {
    parsed = new URL(wildcard ? withScheme.replace("*.", "wildcard-placeholder.") : withScheme);
  } catch {
    throw bad(input, "it is not a URL");
  }
  const scheme = parsed.protocol.slice(0, -1);
  if (scheme !== "http" && scheme !== "https") throw bad(input, `scheme ${scheme}:// is not supported (use http:// or https://)`);
  if (parsed.username || parsed.password) throw bad(input, "credentials are not allowed in an endpoint URL");
  if ((parsed.pathname !== "/" && parsed.pathname !== "") || parsed.search || parsed.hash) throw bad(input, "an endpoint URL has no path, query or fragment");
  let host = parsed.hostname.toLowerCase();
  if (wildcard) host = host.replace("wildcard-placeholder.", "*.");
  const labels = (wildcard ? host.slice(2) : host).split(".");
  if (!labels.every((label) => LABEL.test(label))) throw bad(input, `${host} is not a valid hostname`);
  if (wildcard && labels.length < 2) throw bad(input, "a wildcard needs a domain below it, like *.example.com");
  return { url: `${scheme}://${host}${parsed.port ? `:${parsed.port}` : ""}`, host };
}

function bad(input: string, why: string) {
  const shown = input.length > 100 ? `${input.slice(0, 100)}…` : input;
  return invalidField("url", `${JSON.stringify(shown)} cannot be a cloud endpoint: ${why}`);
}
