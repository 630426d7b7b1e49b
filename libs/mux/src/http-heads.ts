import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { DataHelloSchema, type DataHello } from "@onramp/proto";

/**
 * Headers that describe one hop, not the message (RFC 9110 §7.6.1), so a proxy must not forward
 * them. `upgrade` and `connection` are put back by the proxy for protocol switches.
 */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
]);

/** The lengths of the hop-by-hop names: a header of another length is not one, whatever its case. */
const HOP_BY_HOP_LENGTHS = new Set([...HOP_BY_HOP].map((name) => name.length));

/**
 * Copies Node-style raw headers (name, value, name, value …) without hop-by-hop headers, nor
 * any header the `Connection` header names, nor any name in `drop` (lowercase).
 *
 * It runs for every request and response, so the usual case builds nothing but the copy: a
 * `Connection` value naming only hop-by-hop headers (`keep-alive`, `close`, `upgrade`) adds no
 * name to drop, and a name is lowercased only when its length is that of one it could match.
 */
export function forwardableHeaders(raw: readonly string[], drop?: ReadonlySet<string>): string[] {
  let named: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 10 && raw[i]!.toLowerCase() === "connection") named = connectionNamed(raw[i + 1]!, named);
  }
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (named !== undefined || drop !== undefined || HOP_BY_HOP_LENGTHS.has(name.length)) {
      const lower = name.toLowerCase();
      if (HOP_BY_HOP.has(lower) || named?.has(lower) || drop?.has(lower)) continue;
    }
    out.push(name, raw[i + 1]!);
  }
  return out;
}

/** `named` plus the headers a `Connection` value names that are not hop-by-hop already (undefined while there are none). */
function connectionNamed(value: string, named: Set<string> | undefined): Set<string> | undefined {
  if (!value.includes(",")) return withNamed(named, value);
  for (const token of value.split(",")) named = withNamed(named, token);
  return named;
}

function withNamed(named: Set<string> | undefined, token: string): Set<string> | undefined {
  const name = token.trim().toLowerCase();
  if (name && !HOP_BY_HOP.has(name)) (named ??= new Set()).add(name);
  return named;
}

/** Value of the first header called `lowerName` in raw headers. */
export function rawHeader(raw: readonly string[], lowerName: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    // Lowercasing makes a string unless the name is lowercase already; most names differ in length.
    if (name.length === lowerName.length && name.toLowerCase() === lowerName) return raw[i + 1];
  }
  return undefined;
}

export function encodeDataHello(init: MessageInitShape<typeof DataHelloSchema>): Uint8Array {
  return toBinary(DataHelloSchema, create(DataHelloSchema, init));
}

export function decodeDataHello(bytes: Uint8Array): DataHello {
  return fromBinary(DataHelloSchema, bytes);
}
