import { parseEndpointUrl } from "@onramp/registry";
import { invalidField } from "./input.js";

/**
 * A cloud endpoint's URL, normalised exactly as edges normalise a bind URL (the same parser):
 * `http(s)://host[:port]` or a bare host, lowercase, no path, query or credentials;
 * `*.example.com` for a wildcard. Routing keys on `host`. Errors name the `url` field.
 */
export function parseCloudEndpointUrl(input: string): { url: string; host: string } {
  try {
    const { url, host } = parseEndpointUrl(input);
    return { url, host };
  } catch (err) {
    const shown = input.length > 100 ? `${input.slice(0, 100)}…` : input;
    const why = (err as Error).message.replace(/^cannot bind "(?:[^"\\]|\\.)*": /, "");
    throw invalidField("url", `${JSON.stringify(shown)} cannot be a cloud endpoint: ${why}`);
  }
}
