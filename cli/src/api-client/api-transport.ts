import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";

/** One HTTP exchange with the registry API, as `ApiClient.send` makes it. */
export interface ApiExchange {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: string;
  signal: AbortSignal;
  /**
   * PEM CA certificate(s) to verify an https:// API with instead of the system CAs
   * (`--api-ca` / ONRAMP_API_CA). The API's certificate must still name the URL's host.
   */
  ca?: string;
}

/**
 * Sends one request and reads the whole answer. node:https rather than fetch: Node 20's fetch
 * cannot be given a CA without a dispatcher from the undici package, which the CLI does not
 * depend on. Redirects are not followed (the API never redirects; following one would be talking
 * to something else). Rejects with the socket's error (its `code`: ECONNREFUSED, a TLS code...).
 */
export function exchange(options: ApiExchange): Promise<{ status: number; text: string }> {
  const { url, signal } = options;
  const send = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      {
        method: options.method,
        headers: options.body === undefined ? options.headers : { ...options.headers, "content-length": String(Buffer.byteLength(options.body)) },
        signal,
        // A connection per request: a CLI run makes a handful, and no idle socket keeps it alive.
        agent: false,
        ...(url.protocol === "https:" && options.ca !== undefined ? { ca: options.ca } : {}),
      },
      (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.on("error", (err) => reject(signal.aborted ? signal.reason : err));
    req.end(options.body);
  });
}

/** A TLS failure in words that say what to do, or undefined for any other error. */
export function tlsProblem(err: unknown): string | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? "";
  if (/^(CERT_|ERR_TLS_CERT|UNABLE_TO|SELF_SIGNED|DEPTH_ZERO)/.test(code)) {
    return `its TLS certificate does not verify (${code}); if a private CA signed it, pass --api-ca FILE or set ONRAMP_API_CA`;
  }
  if (/WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG/.test(code)) return "it does not speak TLS there; use an http:// URL, or start the API with --api-tls-cert and --api-tls-key";
  return undefined;
}
