import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { ApiKeyRecord } from "./records.js";

/** Starts every authtoken secret, so a leaked one is recognisable (secret scanners, logs). */
export const AUTHTOKEN_SECRET_PREFIX = "onr_";
/** Starts every registry API key secret; distinct from authtokens so neither is mistaken for the other. */
export const API_KEY_SECRET_PREFIX = "onrapi_";

/**
 * How many characters of a secret an authtoken record keeps in the clear: the `onr_` prefix and
 * 8 random characters (48 bits), enough for an operator to tell two tokens apart and nowhere near
 * enough to help guess the other 208 bits.
 */
const SHOWN_PREFIX_LENGTH = AUTHTOKEN_SECRET_PREFIX.length + 8;

const BASE32 = "abcdefghijklmnopqrstuvwxyz234567";

/**
 * `prefix` and 20 random base32 characters (100 bits): unique without coordination, and made only
 * of characters that are safe in a key segment and a URL path.
 */
export function randomObjectId(prefix: "tok_" | "key_"): string {
  // 256 is a multiple of 32, so `byte % 32` is uniform.
  return prefix + [...randomBytes(20)].map((byte) => BASE32[byte % 32]).join("");
}

/** A new secret: `prefix` and 32 random bytes, base64url (256 bits). */
export function newSecret(prefix: string): string {
  return prefix + randomBytes(32).toString("base64url");
}

/**
 * SHA-256 of a secret, hex. A plain hash is enough (no salt, no slow KDF): the secrets are 256
 * random bits, so there is no dictionary to precompute, and the edge must hash one per hello.
 */
export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}

/** What an authtoken record shows of its secret. */
export function shownPrefix(secret: string): string {
  return secret.slice(0, SHOWN_PREFIX_LENGTH);
}

/** Compares two hex hashes in time that depends only on their length. */
export function sameHash(a: string, b: string): boolean {
  const [x, y] = [Buffer.from(a, "hex"), Buffer.from(b, "hex")];
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}

/**
 * The key whose hash is `hash`, if any. Every hash is compared, so the time taken says nothing
 * about which key (or how much of a hash) matched.
 */
export function matchApiKey(records: readonly ApiKeyRecord[], hash: string): ApiKeyRecord | undefined {
  let match: ApiKeyRecord | undefined;
  for (const record of records) if (sameHash(record.key_hash, hash)) match = record;
  return match;
}
