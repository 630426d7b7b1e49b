import { ErrorCode, OnrampError } from "@onramp/errors";
import type { RequestBodySource, ResponseBodyEdit } from "@onramp/policy";
import type { IncomingMessage } from "node:http";
import { Writable } from "node:stream";
import { promisify } from "node:util";
import * as zlib from "node:zlib";
import { watchBodyIdle } from "./body-idle-timeout.js";

/**
 * Bodies that traffic policies read whole: the request body for verify-webhook, jwt-validation
 * with `method: body` and request-body-find-replace, the response body for
 * response-body-find-replace. Each is buffered up to the edge's limit for policies
 * (`maxPolicyBodyBytes`); nothing is forwarded until the policy has decided.
 */

/** A request body read on the first `read()`; `buffered()` is what to forward instead of streaming. */
export interface PolicyRequestBody extends RequestBodySource {
  /** The body to forward (possibly replaced by a policy) once it has been read; undefined while it has not. */
  buffered(): Uint8Array | undefined;
}

export interface PolicyRequestBodyOptions {
  /** Whether the request has a body at all (http-proxy.ts `hasBody`). */
  hasBody: boolean;
  /** Its declared Content-Length, -1 when none. */
  declaredBytes: number;
  limitBytes: number;
  /** Longest pause between two pieces of the body, in ms; 0: none (see body-idle-timeout.ts). */
  bodyTimeoutMs: number;
  /** Called once, before the first byte is read: the place to send `100 Continue`. */
  beforeRead?: () => void;
}

const EMPTY = new Uint8Array(0);

export function policyRequestBody(req: IncomingMessage, options: PolicyRequestBodyOptions): PolicyRequestBody {
  let reading: Promise<Uint8Array> | undefined;
  let body: Uint8Array | undefined;
  const read = (): Promise<Uint8Array> => {
    if (!options.hasBody) return Promise.resolve(body ?? EMPTY);
    options.beforeRead?.();
    return new Promise<Uint8Array>((resolve, reject) => {
      const tooLarge = () =>
        new OnrampError(ErrorCode.PolicyBodyTooLarge, `the request body is larger than the ${options.limitBytes} bytes the edge reads for traffic policies`);
      if (options.declaredBytes > options.limitBytes) return reject(tooLarge());
      const chunks: Buffer[] = [];
      let size = 0;
      const fail = (error: OnrampError) => {
        cleanup();
        reject(error);
      };
      const onData = (chunk: Buffer) => {
        size += chunk.length;
        if (size > options.limitBytes) return fail(tooLarge());
        chunks.push(chunk);
      };
      const onEnd = () => {
        cleanup();
        body ??= chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
        resolve(body);
      };
      const onClose = () => fail(new OnrampError(ErrorCode.ClientClosed, "the client went away while sending the request body"));
      const cleanup = () => {
        req.off("data", onData).off("end", onEnd).off("close", onClose);
      };
      req.on("data", onData).once("end", onEnd).once("close", onClose);
      watchBodyIdle(req, options.bodyTimeoutMs, () =>
        fail(new OnrampError(ErrorCode.RequestTimeout, `no part of the request body arrived for ${options.bodyTimeoutMs} ms`)),
      );
    });
  };
  return {
    read: () => (reading ??= read()),
    replace(next) {
      body = next;
    },
    buffered: () => body,
  };
}

/** Content codings the edge can undo and redo around a body edit (RFC 9110 §8.4.1). */
const CODECS = {
  gzip: { decode: promisify(zlib.gunzip), encode: promisify(zlib.gzip) },
  "x-gzip": { decode: promisify(zlib.gunzip), encode: promisify(zlib.gzip) },
  deflate: { decode: promisify(zlib.inflate), encode: promisify(zlib.deflate) },
  br: { decode: promisify(zlib.brotliDecompress), encode: promisify(zlib.brotliCompress) },
} as const;

type Coding = keyof typeof CODECS;

export interface EditedResponse {
  body: Buffer;
  /** The Content-Encoding of `body`, undefined for identity. */
  encoding: string | undefined;
}

/**
 * A Writable that collects an upstream response body (at most `limitBytes` on the wire and once
 * decoded, so a compression bomb stops at the limit), undoes its Content-Encoding, applies the
 * policy's edits and encodes the result again with the same coding (or `compress`, the coding
 * compress-response chose, for an unencoded body). A coding the edge cannot undo leaves the body
 * as it came. `done` gets the result, `failed` an error to answer with.
 */
export function editResponseBody(options: {
  limitBytes: number;
  contentEncoding: string | undefined;
  compress: string | undefined;
  edits: readonly ResponseBodyEdit[];
  done: (result: EditedResponse) => void;
  failed: (error: OnrampError) => void;
}): Writable {
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  const tooLarge = () =>
    new OnrampError(ErrorCode.UpstreamError, `the upstream's response body is larger than the ${options.limitBytes} bytes the edge buffers for response-body-find-replace`);
  const finish = async (): Promise<EditedResponse> => {
    const raw = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    const coding = options.contentEncoding?.trim().toLowerCase() || undefined;
    if (coding !== undefined && !(coding in CODECS)) return { body: raw, encoding: options.contentEncoding };
    const codec = coding === undefined ? undefined : CODECS[coding as Coding];
    let body: Uint8Array;
    try {
      body = codec ? await codec.decode(raw, { maxOutputLength: options.limitBytes }) : raw;
    } catch (err) {
      if ((err as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") throw tooLarge();
      throw new OnrampError(ErrorCode.UpstreamError, `the upstream's ${coding} response body could not be decoded`, { cause: err });
    }
    for (const edit of options.edits) body = edit(body);
    const outCoding = coding ?? options.compress;
    const outCodec = outCoding === undefined ? undefined : CODECS[outCoding as Coding];
    return outCodec ? { body: await outCodec.encode(body), encoding: outCoding } : { body: Buffer.from(body.buffer, body.byteOffset, body.byteLength), encoding: undefined };
  };
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (over) return callback();
      size += chunk.length;
      if (size > options.limitBytes) {
        over = true;
        options.failed(tooLarge());
      } else chunks.push(chunk);
      callback();
    },
    final(callback) {
      callback();
      if (over) return;
      finish().then(options.done, (err: unknown) => options.failed(OnrampError.from(err, ErrorCode.Internal, "editing the response body failed")));
    },
  });
}
