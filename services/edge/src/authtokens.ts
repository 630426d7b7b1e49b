import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Checks the edge's own authtokens (`--authtoken`) in constant time. Tokens are kept as SHA-256
 * digests, the form the registry stores its tokens in too (access-control.ts looks those up).
 */
export function createAuthtokenCheck(tokens: readonly string[], allowAny: boolean): (token: string) => boolean {
  const digests = tokens.map(digest);
  return (token) => {
    if (allowAny) return true;
    if (!token) return false;
    const candidate = digest(token);
    let ok = false;
    for (const d of digests) ok = timingSafeEqual(d, candidate) || ok;
    return ok;
  };
}

function digest(token: string): Buffer {
  return createHash("sha256").update(token, "utf8").digest();
}
