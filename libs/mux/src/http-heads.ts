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

/**
 * Copies Node-style raw headers (name, value, name, value …) without hop-by-hop headers, nor
 * any header the `Connection` header names, nor any name in `drop` (lowercase).
 */
export function forwardableHeaders(raw: readonly string[], drop?: ReadonlySet<string>): string[] {
  let named: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]!.length === 10 && raw[i]!.toLowerCase() === "connection") {
      for (const token of raw[i + 1]!.split(",")) {
        const name = token.trim().toLowerCase();
        if (name) (named ??= new Set()).add(name);
      }
    }
  }
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const lower = raw[i]!.toLowerCase();
    if (HOP_BY_HOP.has(lower) || named?.has(lower) || drop?.has(lower)) continue;
    out.push(raw[i]!, raw[i + 1]!);
  }
  return out;
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
