import { describe, expect, it } from "vitest";
import { parseUserAgent } from "./user-agent.js";

describe("parseUserAgent", () => {
  it.each([
    ["curl/8.5.0", { name: "curl", version: "8.5.0", os: "", isMobile: false, isBot: true }],
    ["Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", { name: "Googlebot", version: "2.1", isBot: true }],
    ["Wget/1.21.4", { name: "Wget", version: "1.21.4", isBot: true }],
    [
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
      { name: "Edge", version: "120.0.2210.91", os: "Windows", isMobile: false, isBot: false },
    ],
    [
      "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36",
      { name: "Chrome", os: "Android", isMobile: true },
    ],
    ["Mozilla/5.0 (Linux; Android 14; SM-X910) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36", { os: "Android", isMobile: false }],
    [
      "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
      { name: "Safari", os: "iOS", isMobile: false },
    ],
    ["Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) Gecko/20100101 Firefox/124.0", { name: "Firefox", version: "124.0", os: "macOS" }],
    ["", { name: "", version: "", os: "", isMobile: false, isBot: false }],
  ])("reads %s", (raw, expected) => {
    expect(parseUserAgent(raw)).toMatchObject({ raw, ...expected });
  });
});
