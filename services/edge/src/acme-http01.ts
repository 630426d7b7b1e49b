import type { IncomingMessage, ServerResponse } from "node:http";
import { hostnameOf } from "./endpoint-url.js";

/** RFC 8555 §8.3: where the CA fetches an HTTP-01 token, over plain HTTP on port 80. */
export const ACME_CHALLENGE_PATH = "/.well-known/acme-challenge/";

/** The answers the HTTP listener gives (acme-certificates.ts). */
export interface HttpChallengeAnswers {
  httpChallenge(hostname: string | undefined, token: string): Promise<string | undefined>;
}

/**
 * Answers a CA's HTTP-01 request before policies and routing see it: `GET` (or `HEAD`) of a token
 * this mesh has a pending challenge for, for a hostname it serves. Anything else — an unknown
 * token, say of an upstream that runs its own ACME client behind the tunnel — goes to `next`.
 * Returns false when the request is not a challenge request at all.
 */
export function answerHttpChallenge(answers: HttpChallengeAnswers, req: IncomingMessage, res: ServerResponse, next: () => void): boolean {
  if ((req.method !== "GET" && req.method !== "HEAD") || !req.url?.startsWith(ACME_CHALLENGE_PATH)) return false;
  const token = req.url.slice(ACME_CHALLENGE_PATH.length);
  answers.httpChallenge(hostnameOf(req.headers.host), token).then(
    (answer) => {
      if (answer === undefined) return next();
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": Buffer.byteLength(answer) });
      res.end(req.method === "HEAD" ? undefined : answer);
    },
    () => next(),
  );
  return true;
}
