import { describe, expect, it } from "vitest";
import { parseUserAgent } from "./user-agent.js";

const desktop = { isMobile: false, isTablet: false, isDesktop: true, isBot: false, deviceType: "desktop" };
const phone = { isMobile: true, isTablet: false, isDesktop: false, isBot: false, deviceType: "mobile" };
const tablet = { isMobile: false, isTablet: true, isDesktop: false, isBot: false, deviceType: "tablet" };
const bot = { isMobile: false, isTablet: false, isDesktop: false, isBot: true, deviceType: "bot" };

describe("parseUserAgent", () => {
  it.each([
    // Browsers, as they send them.
    [
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
      { name: "Chrome", version: "120.0.0.0", browserName: "Chrome", os: "Windows", osVersion: "10", ...desktop },
    ],
    [
      "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
      { name: "Edge", version: "120.0.2210.91", os: "Windows", ...desktop },
    ],
    [
      "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko",
      { name: "Internet Explorer", version: "11.0", os: "Windows", osVersion: "7", ...desktop },
    ],
    [
      "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 OPR/109.0.0.0",
      { name: "Opera", version: "109.0.0.0", os: "macOS", osVersion: "", ...desktop },
    ],
    [
      "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.4; rv:124.0) Gecko/20100101 Firefox/124.0",
      { name: "Firefox", version: "124.0", os: "macOS", osVersion: "14.4", ...desktop },
    ],
    [
      "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15",
      { name: "Safari", version: "17.4.1", os: "macOS", ...desktop },
    ],
    ["Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", { name: "Firefox", os: "Linux", osVersion: "", ...desktop }],
    [
      "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
      { name: "Chrome", os: "ChromeOS", osVersion: "14541.0.0", ...desktop },
    ],
    [
      "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36",
      { name: "Chrome", version: "120.0.6099.144", os: "Android", osVersion: "14", ...phone },
    ],
    [
      "Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/24.0 Chrome/117.0.0.0 Mobile Safari/537.36",
      { name: "Samsung Internet", version: "24.0", os: "Android", osVersion: "13", ...phone },
    ],
    ["Mozilla/5.0 (Android 14; Mobile; rv:125.0) Gecko/125.0 Firefox/125.0", { name: "Firefox", os: "Android", ...phone }],
    [
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Mobile/15E148 Safari/604.1",
      { name: "Safari", version: "17.4.1", os: "iOS", osVersion: "17.4.1", ...phone },
    ],
    [
      "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/123.0.6312.52 Mobile/15E148 Safari/604.1",
      { name: "Chrome", version: "123.0.6312.52", os: "iOS", osVersion: "17.4", ...phone },
    ],
    [
      "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
      { name: "Safari", os: "iOS", osVersion: "17.4", ...tablet },
    ],
    ["Mozilla/5.0 (Linux; Android 14; SM-X910) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36", { name: "Chrome", os: "Android", ...tablet }],
    // Tools and libraries: bots, named by their product.
    ["curl/8.5.0", { name: "curl", version: "8.5.0", os: "", browserName: "", ...bot }],
    ["Wget/1.21.4", { name: "Wget", version: "1.21.4", ...bot }],
    ["python-requests/2.31.0", { name: "python-requests", version: "2.31.0", ...bot }],
    ["Go-http-client/2.0", { name: "Go-http-client", version: "2.0", ...bot }],
    // Crawlers.
    ["Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", { name: "Googlebot", version: "2.1", ...bot }],
    [
      "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.91 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
      { name: "Googlebot", os: "Android", ...bot },
    ],
    ["Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", { name: "bingbot", version: "2.0", ...bot }],
    ["Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)", { name: "GPTBot", ...bot }],
    [
      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/124.0.0.0 Safari/537.36",
      { name: "Chrome Headless", os: "Linux", ...bot },
    ],
    // Unknown clients: their first product token; an empty header: nothing.
    ["MyApp/3.1 (build 77)", { name: "MyApp", version: "3.1", isBot: false, deviceType: "" }],
    ["", { name: "", version: "", os: "", osVersion: "", isMobile: false, isTablet: false, isDesktop: false, isBot: false, deviceType: "" }],
  ])("reads %s", (raw, expected) => {
    expect(parseUserAgent(raw)).toMatchObject({ raw, ...expected });
  });

  it("names the device and the URL a crawler gives, as ngrok's .device and .url", () => {
    expect(parseUserAgent("Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1")).toMatchObject({ device: "Apple iPad", url: "" });
    expect(parseUserAgent("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)")).toMatchObject({ isBot: true, url: "http://www.google.com/bot.html" });
    expect(parseUserAgent("curl/8.5.0")).toMatchObject({ device: "", url: "" });
  });

  it("reads only the first KiB of a long header", () => {
    const ua = parseUserAgent(`Mozilla/5.0 (Windows NT 10.0) ${"x".repeat(5000)} Chrome/1.0`);
    expect(ua.os).toBe("Windows");
    expect(ua.name).toBe("");
  });
});
