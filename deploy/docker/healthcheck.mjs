// The image's HEALTHCHECK: exits 0 when the process in this container is healthy.
//
// By default it asks an edge's admin listener for /healthz (ONRAMP_ADMIN_ADDR, as the edge reads
// it; 0.0.0.0 and :: are asked on loopback). Anything else sets:
//   ONRAMP_HEALTHCHECK_URL     the URL to GET; a 2xx answer passes
//   ONRAMP_HEALTHCHECK_EXPECT  optionally, a regular expression the body must match, e.g. for an
//                              agent's /metrics: 'onramp_agent_sessions\{[^}]*\} 1' (a session is up)
const TIMEOUT_MS = 2_000;

function adminUrl() {
  const addr = process.env.ONRAMP_ADMIN_ADDR || "127.0.0.1:4042";
  const port = addr.slice(addr.lastIndexOf(":") + 1);
  let host = addr.slice(0, addr.lastIndexOf(":")) || "127.0.0.1";
  if (host === "0.0.0.0" || host === "[::]" || host === "::") host = "127.0.0.1";
  return `http://${host}:${port}/healthz`;
}

const url = process.env.ONRAMP_HEALTHCHECK_URL || adminUrl();
const expect = process.env.ONRAMP_HEALTHCHECK_EXPECT;
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  const body = await res.text();
  if (res.status < 200 || res.status > 299) {
    console.error(`${url}: ${res.status} ${body.slice(0, 200)}`);
    process.exit(1);
  }
  if (expect && !new RegExp(expect, "m").test(body)) {
    console.error(`${url}: 200, but nothing matches ${expect}`);
    process.exit(1);
  }
} catch (err) {
  console.error(`${url}: ${err?.cause?.code ?? err?.message ?? err}`);
  process.exit(1);
}
