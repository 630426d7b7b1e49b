import { parseCidr } from "./cidr.js";

/**
 * Writes small MaxMind DB (.mmdb) files, after the MaxMind DB spec v2.0
 * (https://maxmind.github.io/MaxMind-DB/): a binary search tree over the address bits, 16 zero
 * bytes, a data section, then the metadata map after `\xAB\xCD\xEFMaxMind.com`. Always an IPv6 tree
 * with 24-bit records; IPv4 networks sit at `::a.b.c.d`, where readers look them up.
 *
 * For tests and for operators who map their own networks (an office range to a country); real
 * GeoIP data comes from MaxMind's or DB-IP's files. Not for millions of networks: no pointers, each
 * distinct record is stored once and the tree is built in memory.
 */

/** A value the data section can hold: integers ≥ 0 are unsigned (uint32, or uint64 as a bigint), other numbers doubles. */
export type MmdbValue = string | number | bigint | boolean | readonly MmdbValue[] | { readonly [key: string]: MmdbValue };

export interface MmdbNetwork {
  /** `81.2.69.0/24`, `2001:db8::/32` or a bare address. */
  readonly network: string;
  readonly data: MmdbValue;
}

export interface MmdbOptions {
  /** The metadata `database_type`, e.g. `GeoLite2-City`, `GeoLite2-ASN`, `DBIP-City-Lite`. */
  readonly databaseType: string;
  readonly networks: readonly MmdbNetwork[];
  readonly languages?: readonly string[];
  readonly description?: Readonly<Record<string, string>>;
  /** Seconds since the epoch; 0 by default so the same input gives the same bytes. */
  readonly buildEpoch?: number;
}

const RECORD_SIZE = 24;
const METADATA_MARKER = Buffer.from([0xab, 0xcd, 0xef, ...Buffer.from("MaxMind.com")]);

type Leaf = { readonly offset: number };
type TreeNode = { left: Child; right: Child; id: number };
type Child = TreeNode | Leaf | null;
const isNode = (c: Child): c is TreeNode => c !== null && "left" in c;

function control(type: number, size: number): Buffer {
  const ext = type > 7;
  let sizeBits: number;
  let sizeBytes: number[] = [];
  if (size < 29) sizeBits = size;
  else if (size < 285) [sizeBits, sizeBytes] = [29, [size - 29]];
  else if (size < 65_821) [sizeBits, sizeBytes] = [30, [(size - 285) >> 8, (size - 285) & 0xff]];
  else [sizeBits, sizeBytes] = [31, [(size - 65_821) >> 16, ((size - 65_821) >> 8) & 0xff, (size - 65_821) & 0xff]];
  const first = ((ext ? 0 : type) << 5) | sizeBits;
  return Buffer.from(ext ? [first, type - 7, ...sizeBytes] : [first, ...sizeBytes]);
}

function unsigned(type: number, value: bigint): Buffer {
  const bytes: number[] = [];
  for (let v = value; v > 0n; v >>= 8n) bytes.unshift(Number(v & 0xffn));
  return Buffer.concat([control(type, bytes.length), Buffer.from(bytes)]);
}

/** Encodes one value of the data section (spec: "Output Data Section"). */
export function encodeMmdbValue(value: MmdbValue): Buffer {
  if (typeof value === "string") {
    const bytes = Buffer.from(value, "utf8");
    return Buffer.concat([control(2, bytes.length), bytes]);
  }
  if (typeof value === "boolean") return control(14, value ? 1 : 0);
  if (typeof value === "bigint") return unsigned(9, value);
  if (typeof value === "number") {
    if (Number.isInteger(value) && value >= 0 && value <= 0xffffffff) return unsigned(6, BigInt(value));
    const bytes = Buffer.alloc(8);
    bytes.writeDoubleBE(value);
    return Buffer.concat([control(3, 8), bytes]);
  }
  if (Array.isArray(value)) return Buffer.concat([control(11, value.length), ...value.map(encodeMmdbValue)]);
  const entries = Object.entries(value as Record<string, MmdbValue>);
  return Buffer.concat([control(7, entries.length), ...entries.flatMap(([k, v]) => [encodeMmdbValue(k), encodeMmdbValue(v)])]);
}

/** The network's address bits in the IPv6 tree and its prefix length there. */
function bitsOf(network: string): { address: bigint; prefix: number } {
  const cidr = parseCidr(network);
  if (!cidr) throw new Error(`not a network: ${JSON.stringify(network)}`);
  const prefix = 128 - (cidr.mask === 0n ? 128 : (~cidr.mask & ((1n << 128n) - 1n)).toString(2).replace(/^0+/, "").length);
  // cidr.ts keeps IPv4 at ::ffff:a.b.c.d; the MaxMind tree has it at ::a.b.c.d.
  const v4 = !network.split("/")[0]?.includes(":");
  return { address: v4 ? cidr.base & 0xffffffffn : cidr.base, prefix };
}

export function writeMmdb(options: MmdbOptions): Buffer {
  const data: Buffer[] = [];
  const offsets = new Map<string, number>();
  let dataSize = 0;
  const leafOf = (value: MmdbValue): Leaf => {
    const key = JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? `${v}n` : v));
    let offset = offsets.get(key);
    if (offset === undefined) {
      const bytes = encodeMmdbValue(value);
      offset = dataSize;
      offsets.set(key, offset);
      data.push(bytes);
      dataSize += bytes.length;
    }
    return { offset };
  };

  const root: TreeNode = { left: null, right: null, id: 0 };
  for (const { network, data: value } of options.networks) {
    const { address, prefix } = bitsOf(network);
    const leaf = leafOf(value);
    let node = root;
    for (let i = 0; i < prefix; i++) {
      const right = ((address >> BigInt(127 - i)) & 1n) === 1n;
      if (i === prefix - 1) {
        if (right) node.right = leaf;
        else node.left = leaf;
        break;
      }
      let next = right ? node.right : node.left;
      // A more specific network inside a wider one: split the wider one's leaf in two.
      if (!isNode(next)) next = { left: next, right: next, id: 0 };
      if (right) node.right = next;
      else node.left = next;
      node = next;
    }
  }

  const nodes: TreeNode[] = [];
  const queue: TreeNode[] = [root];
  while (queue.length > 0) {
    const n = queue.shift() as TreeNode;
    n.id = nodes.length;
    nodes.push(n);
    for (const c of [n.left, n.right]) if (isNode(c)) queue.push(c);
  }
  const nodeCount = nodes.length;
  const recordOf = (c: Child): number => (c === null ? nodeCount : isNode(c) ? c.id : nodeCount + 16 + c.offset);
  const tree = Buffer.alloc(nodeCount * ((RECORD_SIZE * 2) / 8));
  nodes.forEach((n, i) => {
    tree.writeUIntBE(recordOf(n.left), i * 6, 3);
    tree.writeUIntBE(recordOf(n.right), i * 6 + 3, 3);
  });

  const metadata = encodeMmdbValue({
    node_count: nodeCount,
    record_size: RECORD_SIZE,
    ip_version: 6,
    database_type: options.databaseType,
    languages: options.languages ?? ["en"],
    binary_format_major_version: 2,
    binary_format_minor_version: 0,
    build_epoch: BigInt(options.buildEpoch ?? 0),
    description: options.description ?? { en: `${options.databaseType} (written by Onramp)` },
  });
  return Buffer.concat([tree, Buffer.alloc(16), ...data, METADATA_MARKER, metadata]);
}
