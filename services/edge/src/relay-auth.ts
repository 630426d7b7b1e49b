import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { RelayHelloSchema, type RelayHello } from "@onramp/proto";
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * 5 minutes: a relay hello older or newer than this is refused, which bounds replays of a captured
 * hello and tolerates ordinary clock skew between regions.
 */
const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;

/** The dialer's hello: its id, a fresh nonce, and a MAC over them with the cluster secret. */
export function dialerHello(secret: string, edgeId: string): { payload: Uint8Array; nonce: Uint8Array } {
  const nonce = randomBytes(16);
  const timestampMs = Date.now();
  const hello = create(RelayHelloSchema, { edgeId, timestampMs: BigInt(timestampMs), nonce, mac: mac(secret, edgeId, timestampMs, nonce, new Uint8Array(0)) });
  return { payload: toBinary(RelayHelloSchema, hello), nonce };
}

/** The acceptor's answer: its own id and a MAC that also covers the dialer's nonce (so it cannot be replayed to another dialer). */
export function acceptorHello(secret: string, edgeId: string, peerNonce: Uint8Array): Uint8Array {
  const nonce = randomBytes(16);
  const timestampMs = Date.now();
  const hello = create(RelayHelloSchema, { edgeId, timestampMs: BigInt(timestampMs), nonce, peerNonce, mac: mac(secret, edgeId, timestampMs, nonce, peerNonce) });
  return toBinary(RelayHelloSchema, hello);
}

/**
 * Checks a hello from the other side; returns it when its MAC is right, its clock is close to
 * ours and (for an answer) it signed our nonce. Undefined otherwise: the caller closes.
 */
export function verifyHello(secret: string, payload: Uint8Array, expectedPeerNonce?: Uint8Array): RelayHello | undefined {
  let hello: RelayHello;
  try {
    hello = fromBinary(RelayHelloSchema, payload);
  } catch {
    return undefined;
  }
  const ts = Number(hello.timestampMs);
  if (!hello.edgeId || Math.abs(Date.now() - ts) > MAX_CLOCK_SKEW_MS) return undefined;
  if (expectedPeerNonce && !equal(hello.peerNonce, expectedPeerNonce)) return undefined;
  const want = mac(secret, hello.edgeId, ts, hello.nonce, expectedPeerNonce ? hello.peerNonce : new Uint8Array(0));
  return equal(hello.mac, want) ? hello : undefined;
}

function mac(secret: string, edgeId: string, timestampMs: number, nonce: Uint8Array, peerNonce: Uint8Array): Uint8Array {
  return createHmac("sha256", secret).update(`onramp-relay-v1|${edgeId}|${timestampMs}|`).update(nonce).update("|").update(peerNonce).digest();
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
