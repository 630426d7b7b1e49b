import { isIP } from "node:net";

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/i;

/**
 * Why `text` cannot be an edge's agent address, or undefined when it can: a host name, IPv4
 * address or bracketed IPv6 address, then a port 1–65535. Checked before anything dials, so a
 * typo in `onramp config add-edge` is refused instead of saved and retried forever.
 */
export function edgeAddressProblem(text: string): string | undefined {
  const match = /^(?:\[([^\]]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(text);
  if (!match) return "is not host:port";
  const port = Number(match[3]);
  if (port < 1 || port > 65535) return `has port ${match[3]}, and a port is 1-65535`;
  const host = match[1] ?? match[2]!;
  if (match[1] !== undefined) return isIP(host) === 6 ? undefined : `has [${host}], which is not an IPv6 address`;
  if (isIP(host) === 4) return host === "0.0.0.0" ? "names 0.0.0.0, which is not an address an agent can dial" : undefined;
  return host.split(".").every((label) => LABEL.test(label)) ? undefined : `has ${host}, which is not a host name`;
}
