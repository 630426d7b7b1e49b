import { existsSync } from "node:fs";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { send } from "./harness/http-client.js";
import { startOnramp, stopAll, type RunningProcess } from "./harness/processes.js";
import { startUpstream, type Upstream } from "./harness/upstream.js";
import { until, within } from "./harness/within.js";

// The request inspector as a user meets it: `onramp http` prints where it is, the page in a real
// browser (Debian's chromium, headless) lists a request live, shows it, and replays it with an
// edited header, and the upstream gets the edited request.

const CHROMIUM = "/usr/bin/chromium";

let upstream: Upstream;
let browser: Browser;
/** What the upstream got: path and headers of every request. */
const seen: Array<{ url: string; headers: Record<string, string | string[] | undefined> }> = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (scripts/test.sh does)`);
  upstream = await startUpstream("inspected");
  upstream.server.on("request", (req) => seen.push({ url: req.url ?? "", headers: req.headers }));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    // Without the background-networking flags chromium dials Google's services, refused noisily here.
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

afterAll(async () => {
  await browser?.close();
  await stopAll();
  await upstream?.close();
});

/** `onramp http` on the embedded edge with the inspector on a free port; the tunnel's and the inspector's URLs. */
async function startAgent(): Promise<{ agent: RunningProcess; tunnel: URL; inspector: string }> {
  const agent = startOnramp("inspected-agent", ["http", String(upstream.port), "--port", "0", "--inspect-addr", "127.0.0.1:0"]);
  const forwarding = await agent.waitForLine("stdout", /^Forwarding /);
  const inspector = (await agent.waitForLine("stderr", /^Inspector /)).split(" ")[1]!;
  return { agent, tunnel: new URL(forwarding.split(" ")[1]!), inspector };
}

/** The row of the request list whose path is `path` (the replay's row says "replay" too). */
const row = (page: Page, path: string, replay = false) =>
  page.locator("#rows tr", { hasText: path }).filter(replay ? { has: page.locator(".badge") } : { hasNot: page.locator(".badge") });

describe("onramp http's request inspector", () => {
  it("lists a request live, shows it, and replays it with an edited header", async () => {
    const { agent, tunnel, inspector } = await startAgent();
    expect(inspector).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on("pageerror", (err) => problems.push(err.message));
    await page.goto(inspector);
    // Live before the request is sent: it must arrive as an event, not with the page.
    await page.locator("#live", { hasText: /^live$/ }).waitFor({ timeout: 15_000 });

    const path = "/echo/inspect-me?q=1";
    const reply = await send({ base: `http://127.0.0.1:${tunnel.port}`, host: tunnel.host, path, method: "POST", headers: { "x-demo": "original", "content-type": "application/json" }, body: '{"hello":"world"}' });
    expect(reply.status).toBe(200);

    const original = row(page, path);
    await original.locator("td.status", { hasText: "200" }).waitFor({ timeout: 15_000 });
    await original.click();
    const detail = page.locator("#detail");
    await detail.locator("h2", { hasText: path }).waitFor({ timeout: 15_000 });
    await expect(detail.locator("#request pre.body").textContent()).resolves.toContain('"hello": "world"');
    await expect(detail.locator("#request table.headers").first().textContent()).resolves.toContain("original");

    await page.click("#edit");
    const headers = page.locator("#edit-headers");
    await headers.fill((await headers.inputValue()).replace("X-Demo: original", "X-Demo: edited"));
    await page.click("#edit-send");

    // The page selects the replay as soon as it is listed, and shows its response when it comes.
    await row(page, path, true).waitFor({ timeout: 15_000 });
    await detail.locator("dt", { hasText: "Replay of" }).waitFor({ timeout: 15_000 });
    await detail.locator("#response pre.body", { hasText: '"x-demo": "edited"' }).waitFor({ timeout: 15_000 });
    await expect(detail.locator("h2").textContent()).resolves.toContain(path);

    await until("the upstream to get the edited replay", () => seen.some((r) => r.url === path && r.headers["x-demo"] === "edited"));
    expect(seen.filter((r) => r.url === path).map((r) => r.headers["x-demo"])).toEqual(["original", "edited"]);
    expect(problems).toEqual([]);

    await page.close();
    expect((await within(20_000, "the agent to stop", agent.stop("SIGINT"))).code).toBe(0);
    // Scripts read stdout: the inspector's line is on stderr.
    expect(agent.stdout).toEqual([`Forwarding ${tunnel.href.replace(/\/$/, "")} -> http://localhost:${upstream.port}`]);
  });
});
