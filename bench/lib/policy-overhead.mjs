// Requests/s through onramp with no policy and with a realistic 10-rule traffic policy (IP
// allow-list, JWT validation against a local JWKS, a rate limit, routing rules and header edits),
// measured alternately in the same run so machine noise hits both alike.
import { createServer } from "node:http";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { startOnramp } from "./targets.mjs";
import { runWrk } from "./wrk.mjs";

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
 * @param {{ threads: number, connections: number, durationS: number, warmupS: number }} wrk
 * @param {number} repeat
 * @param {(msg: string) => void} log
 */
export async function measurePolicyOverhead(ctx, wrk, repeat, log) {
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
  const headers = { authorization: `Bearer ${token}`, "x-api-key": "bench-key" };

  /** @type {{ none: number[], policy: number[], non2xx: number }} */
  const out = { none: [], policy: [], non2xx: 0 };
  try {
    for (let i = 0; i < repeat; i++) {
      for (const variant of /** @type {const} */ (["none", "policy"])) {
        const target = await startOnramp(variant === "policy" ? { ...ctx, policyFile } : ctx);
        try {
          const run = (/** @type {number} */ durationS) =>
            runWrk({ url: `${target.base}/hello`, host: target.host, threads: wrk.threads, connections: wrk.connections, durationS, headers });
          await run(wrk.warmupS);
          const result = await run(wrk.durationS);
          out[variant].push(result.rps);
          out.non2xx += result.non2xx;
          log(`policy overhead: ${variant === "none" ? "no policy" : "10-rule policy"} ${Math.round(result.rps)} req/s`);
        } finally {
          await target.stop();
        }
      }
    }
  } finally {
    jwks.close();
  }
  const median = (/** @type {number[]} */ xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const none = median(out.none);
  const policy = median(out.policy);
  return { noPolicyRps: Math.round(none), policyRps: Math.round(policy), ratio: none ? policy / none : 0, runs: out, non2xx: out.non2xx };
}
