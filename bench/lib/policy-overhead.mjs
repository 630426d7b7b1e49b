// Requests/s through onramp with no policy and with a realistic 10-rule traffic policy (IP
// allow-list, JWT validation against a local JWKS, a rate limit, routing rules and header edits),
// both up at once and measured in alternating slices (lib/interleaved.mjs), so machine noise hits both alike.
import { createServer } from "node:http";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { startOnramp } from "./targets.mjs";
import { measurePaired, median, startWarm } from "./interleaved.mjs";

/** @param {string} jwksUrl */
export function realisticPolicy(jwksUrl) {
  return `
on_http_request:
  - name: office and loopback only
    actions: [{type: restrict-ips, config: {allow: ["127.0.0.0/8", "10.0.0.0/8"]}}]
  - name: signed in
    actions:
      - type: jwt-validation
        config:
          issuer: {allow_list: [{value: "https://issuer.bench"}]}
          audience: {allow_list: [{value: "onramp-bench"}]}
          http: {tokens: [{type: jwt, method: header, name: Authorization, prefix: "Bearer "}]}
          jws: {allowed_algorithms: [RS256], keys: {sources: {additional_jkus: ["${jwksUrl}"]}}}
  - name: per key limit
    actions:
      - type: rate-limit
        config: {algorithm: sliding_window, capacity: 100000000, rate: 1s, bucket_key: ["req.headers['x-api-key'][0]"]}
  - name: no admin from outside
    expressions: ["req.url.path.startsWith('/admin')"]
    actions: [{type: deny, config: {status_code: 404}}]
  - name: old api
    expressions: ["req.url.path.startsWith('/v0/')"]
    actions: [{type: url-rewrite, config: {from: "^/v0/(.*)", to: "/v1/$1"}}]
  - name: no deletes
    expressions: ["req.method == 'DELETE'"]
    actions: [{type: custom-response, config: {status_code: 405, body: "read only"}}]
  - name: tier
    actions: [{type: set-vars, config: {vars: [{tier: "\${hasReqHeader('x-tier') ? getReqHeader('x-tier')[0] : 'free'}"}]}}]
  - name: client ip
    actions: [{type: add-headers, config: {headers: {x-client-ip: "\${conn.client_ip}", x-tier: "\${vars.tier}"}}}]
  - name: strip internals
    actions: [{type: remove-headers, config: {headers: [x-internal-token, cookie]}}]
  - name: path header
    expressions: ["req.method == 'GET' && hasReqHeader('x-api-key')"]
    actions: [{type: add-headers, config: {headers: {x-original-path: "\${req.url.path}"}}}]
on_http_response:
  - name: served by
    actions: [{type: add-headers, config: {headers: {x-served-by: onramp}}}]
`;
}

/**
 * @param {{ upstream: string, tmp: string }} ctx
 * @param {{ threads: number, connections: number, warmupS: number }} wrk
 * @param {{ rounds: number, sliceS: number }} interleave
 * @param {(msg: string) => void} log
 */
export async function measurePolicyOverhead(ctx, wrk, interleave, log) {
  const { publicKey, privateKey } = await generateKeyPair("RS256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "bench", alg: "RS256", use: "sig" };
  const jwks = createServer((_req, res) => res.end(JSON.stringify({ keys: [jwk] })));
  await new Promise((resolve) => jwks.listen(0, "127.0.0.1", () => resolve(undefined)));
  const address = /** @type {import("node:net").AddressInfo} */ (jwks.address());
  const policyFile = join(ctx.tmp, "policy.yml");
  await writeFile(policyFile, realisticPolicy(`http://127.0.0.1:${address.port}/jwks.json`));
  const token = await new SignJWT({ sub: "bench" })
    .setProtectedHeader({ alg: "RS256", kid: "bench" })
    .setIssuer("https://issuer.bench")
    .setAudience("onramp-bench")
    .setExpirationTime("1h")
    .sign(privateKey);
  // Both variants get the same requests: the token and key cost the no-policy tunnel bytes too.
  const headers = { authorization: `Bearer ${token}`, "x-api-key": "bench-key" };
  /** @type {import("./targets.mjs").Target[]} */
  const targets = [];
  try {
    const none = await startWarm(() => startOnramp(ctx), wrk, headers);
    targets.push(none);
    const policy = await startWarm(() => startOnramp({ ...ctx, policyFile }), wrk, headers);
    targets.push(policy);
    const m = await measurePaired({
      baseline: { label: "no policy", target: none, headers },
      variant: { label: "10-rule policy", target: policy, headers },
      ...interleave,
      wrk,
      log: (msg) => log(`policy overhead: ${msg}`),
    });
    return {
      noPolicyRps: Math.round(median(m.baselineRps)),
      policyRps: Math.round(median(m.variantRps)),
      ratio: m.ratio,
      runs: { none: m.baselineRps, policy: m.variantRps },
      roundRatios: { policy: m.roundRatios },
      non2xx: m.non2xx,
      ...interleave,
    };
  } finally {
    for (const target of targets) await target.stop();
    jwks.close();
  }
}
