/**
 * IPv4 and IPv6 addresses and CIDR ranges, parsed by hand so the library stays free of `node:net`.
 * Addresses are held as 128-bit bigints; IPv4 (and IPv4-mapped IPv6, `::ffff:1.2.3.4`) live in the
 * `::ffff:0:0/96` block so a v4 client matches v4 ranges whichever way the socket reported it.
 */

export interface Cidr {
  readonly text: string;
  readonly base: bigint;
  readonly mask: bigint;
}

const V4_MAPPED = 0xffffn << 32n;
const ALL_ONES = (1n << 128n) - 1n;

function parseIPv4(text: string): bigint | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || (p.length > 1 && p.startsWith("0"))) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    value = (value << 8n) | BigInt(n);
  }
  return value;
}

function parseIPv6(text: string): bigint | undefined {
  let head = text;
  let tailV4: bigint | undefined;
  const lastColon = text.lastIndexOf(":");
  if (text.includes(".", lastColon)) {
    tailV4 = parseIPv4(text.slice(lastColon + 1));
    if (tailV4 === undefined) return undefined;
    head = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = head.split("::");
  if (halves.length > 2) return undefined;
  const groups = (s: string | undefined): string[] => (s ? s.split(":") : []);
  const left = groups(halves[0]);
  const right = groups(halves[1]);
  const missing = 8 - left.length - right.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...left, ...Array<string>(halves.length === 2 ? missing : 0).fill("0"), ...right];
  let value = 0n;
  for (const g of all) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
    value = (value << 16n) | BigInt(Number.parseInt(g, 16));
  }
  return tailV4 === undefined ? value : (value & ~0xffffffffn) | tailV4;
}

/** Parses an IPv4 or IPv6 address (zone ids like `%eth0` are ignored). */
export function parseIp(text: string): bigint | undefined {
  const bare = text.split("%")[0] ?? "";
  if (bare.includes(":")) return parseIPv6(bare.startsWith("[") && bare.endsWith("]") ? bare.slice(1, -1) : bare);
  const v4 = parseIPv4(bare);
  return v4 === undefined ? undefined : V4_MAPPED | v4;
}

/** Parses `10.0.0.0/8`, `2001:db8::/32`, or a bare address (a single-host range). */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf("/");
  const addrText = slash < 0 ? text : text.slice(0, slash);
  const isV6 = addrText.includes(":");
  const addr = parseIp(addrText);
  if (addr === undefined) return undefined;
  const maxBits = isV6 ? 128 : 32;
  let bits = maxBits;
  if (slash >= 0) {
    const bitsText = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(bitsText)) return undefined;
    bits = Number(bitsText);
    if (bits > maxBits) return undefined;
  }
  const prefix = bits + (128 - maxBits);
  const mask = prefix === 0 ? 0n : (ALL_ONES << BigInt(128 - prefix)) & ALL_ONES;
  return { text, base: addr & mask, mask };
}

export function cidrContains(cidr: Cidr, ip: bigint): boolean {
  return (ip & cidr.mask) === cidr.base;
}
