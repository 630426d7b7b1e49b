import { type ActionDefinition, NEXT } from "../action-types.js";
import { type Coding, negotiateEncoding } from "../accept-encoding.js";
import { appendHeader } from "../context.js";

const SUPPORTED: readonly Coding[] = ["gzip", "deflate", "br"];

/**
 * `compress-response`: picks a content coding from the request's Accept-Encoding and the
 * configured `algorithms`, and rewrites the response headers for it (Content-Encoding, Vary, no
 * Content-Length). The edge streams the body through the encoder named in the outcome's `compress`.
 * A response that is already encoded, has no body (HEAD, 1xx, 204, 304) or a range is left alone.
 */
export const compressResponse: ActionDefinition = {
  type: "compress-response",
  phases: ["on_http_response"],
  compile(config) {
    const items = config.stringList("algorithms", { min: 1 });
    config.finish();
    // ngrok's default order minus `compress` (LZW), which no current browser sends and node:zlib
    // cannot produce. `compress` is accepted in the list, so ngrok policies load, and never chosen.
    const algorithms: Coding[] = [];
    let accepted = 0;
    for (const item of items ?? []) {
      if ((SUPPORTED as readonly string[]).includes(item.value)) algorithms.push(item.value as Coding);
      else if (item.value !== "compress") {
        item.cursor.error(`must be one of "gzip", "deflate", "br", "compress", got ${JSON.stringify(item.value)}`);
        continue;
      }
      accepted++;
    }
    if (items && accepted !== items.length) return undefined;
    const preference = items ? algorithms : SUPPORTED;
    return {
      type: "compress-response",
      alwaysTerminates: false,
      run(x) {
        const res = x.response;
        const req = x.view?.request;
        if (!res || !req) return NEXT;
        const existing = res.headers.get("content-encoding")?.join(",").trim().toLowerCase() ?? "";
        const alreadyCompressed = existing !== "" && existing !== "identity";
        const noBody = req.method === "HEAD" || res.statusCode < 200 || res.statusCode === 204 || res.statusCode === 304;
        const encoding =
          alreadyCompressed || noBody || res.headers.has("content-range")
            ? undefined
            : negotiateEncoding(req.headers.get("accept-encoding") ?? [], preference);
        x.setResult("compress", { already_compressed: alreadyCompressed, negotiated_algorithm: encoding ?? "" });
        if (!alreadyCompressed && !noBody) appendHeader(res.headers, "vary", "Accept-Encoding");
        if (encoding === undefined) return NEXT;
        res.headers.set("content-encoding", [encoding]);
        res.headers.delete("content-length");
        x.compress = { encoding };
        return NEXT;
      },
    };
  },
};
