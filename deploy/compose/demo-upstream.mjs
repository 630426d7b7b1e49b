// The demo upstream behind each region's agent: answers every request after DELAY_MS (default 50,
// like a real API: at 200 requests/s about ten are in flight when a drill strikes) with
// {"name", "region", "method", "path", "bytes"}; GET /healthz answers at once.
import { createServer } from "node:http";

const name = process.env.UPSTREAM_NAME ?? "demo";
const region = process.env.UPSTREAM_REGION ?? "";
const delayMs = Number(process.env.DELAY_MS ?? 50);
const port = Number(process.env.PORT ?? 8000);

const server = createServer((req, res) => {
  let bytes = 0;
  req.on("data", (chunk) => (bytes += chunk.length));
  req.on("end", () => {
    const body = JSON.stringify({ name, region, method: req.method, path: req.url, bytes });
    const answer = () => {
      if (res.destroyed) return;
      res.writeHead(200, { "content-type": "application/json" });
      res.end(body);
    };
    if (req.url === "/healthz") answer();
    else setTimeout(answer, delayMs);
  });
});
server.listen(port, "0.0.0.0", () => console.log(`demo upstream ${name} (${region}) on :${port}`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
