/**
 * Content negotiation for `compress-response` (RFC 9110 §12.5.3): the client's q-values decide,
 * q=0 forbids, `*` covers codings not named, and among equal q-values the policy's order wins.
 */
export type Coding = "gzip" | "br" | "deflate";

export function parseAcceptEncoding(header: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const item of header.split(",")) {
    const [name = "", ...params] = item.split(";").map((s) => s.trim());
    if (!name) continue;
    let q = 1;
    for (const p of params) {
      const m = /^q\s*=\s*([0-9.]+)$/i.exec(p);
      if (m) q = Math.min(1, Math.max(0, Number(m[1]) || 0));
    }
    const key = name.toLowerCase() === "x-gzip" ? "gzip" : name.toLowerCase();
    out.set(key, Math.max(q, out.get(key) ?? 0));
  }
  return out;
}

/** The coding to use, or undefined to send the body as is. */
export function negotiateEncoding(acceptEncoding: readonly string[], preference: readonly Coding[]): Coding | undefined {
  if (acceptEncoding.length === 0) return undefined;
  const accepted = parseAcceptEncoding(acceptEncoding.join(","));
  const wildcard = accepted.get("*");
  let best: Coding | undefined;
  let bestQ = 0;
  for (const coding of preference) {
    const q = accepted.get(coding) ?? wildcard ?? 0;
    if (q > bestQ) {
      best = coding;
      bestQ = q;
    }
  }
  return best;
}
