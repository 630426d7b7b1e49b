import type { IncomingMessage, ServerResponse } from "node:http";
import { PAGE_HTML } from "./page-html.js";
import { PAGE_SCRIPT } from "./page-script.js";
import { PAGE_STYLE } from "./page-style.js";

/**
 * Only the page's own script and style run, and nothing may frame it (clickjacking a Replay
 * button); request data the page shows stays inert even if it ever reached the DOM as markup.
 */
const SECURITY_HEADERS = {
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cache-control": "no-store",
};

const ASSETS: Record<string, { type: string; body: string }> = {
  "/": { type: "text/html; charset=utf-8", body: PAGE_HTML },
  "/index.html": { type: "text/html; charset=utf-8", body: PAGE_HTML },
  "/inspector.js": { type: "text/javascript; charset=utf-8", body: PAGE_SCRIPT },
  "/inspector.css": { type: "text/css; charset=utf-8", body: PAGE_STYLE },
};

/** Serves the page and its script and style on GET; false for any other request. */
export function servePage(req: IncomingMessage, res: ServerResponse, path: string): boolean {
  const asset = ASSETS[path];
  if (!asset || (req.method !== "GET" && req.method !== "HEAD")) return false;
  res.writeHead(200, { ...SECURITY_HEADERS, "content-type": asset.type, "content-length": Buffer.byteLength(asset.body) });
  res.end(req.method === "HEAD" ? undefined : asset.body);
  return true;
}
