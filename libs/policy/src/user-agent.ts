/**
 * Cheap User-Agent classification for `req.user_agent.*`: a handful of linear pattern tests, no
 * database. Good enough for "block bots" and "route Safari elsewhere"; not a device detector. No
 * maintained parser is among Onramp's dependencies; one should replace this when there is.
 */
export interface UserAgentInfo {
  readonly raw: string;
  readonly isBot: boolean;
  /** The browser, or else the client's first product token (`curl`, `Googlebot`); empty if none. */
  readonly name: string;
  readonly version: string;
  /** `Windows`, `Android`, `iOS`, `macOS`, `ChromeOS` or `Linux`; empty when not recognised. */
  readonly os: string;
  /** A phone (iPads and Android tablets are not). */
  readonly isMobile: boolean;
  readonly browserName: string;
  readonly browserVersion: string;
}

const BOT = /bot\b|bot\/|crawl|spider|slurp|facebookexternalhit|bingpreview|headlesschrome|curl\/|wget\/|python-requests|go-http-client|httpclient|scrapy|phantomjs/i;

// Order matters: Edge and Opera also claim Chrome, Chrome also claims Safari.
const BROWSERS: ReadonlyArray<readonly [string, RegExp]> = [
  ["Edge", /\bEdg(?:e|A|iOS)?\/([\d.]+)/],
  ["Opera", /\b(?:OPR|Opera)\/([\d.]+)/],
  ["Samsung Internet", /\bSamsungBrowser\/([\d.]+)/],
  ["Firefox", /\b(?:Firefox|FxiOS)\/([\d.]+)/],
  ["Chrome", /\b(?:Chrome|CriOS)\/([\d.]+)/],
  ["Safari", /\bVersion\/([\d.]+).*Safari\//],
  ["curl", /^curl\/([\d.]+)/],
];

// Order matters: Android also says Linux, iOS says "like Mac OS X".
const SYSTEMS: ReadonlyArray<readonly [string, RegExp]> = [
  ["Windows", /\bWindows\b/],
  ["Android", /\bAndroid\b/],
  ["iOS", /\b(?:iPhone|iPad|iPod)\b/],
  ["macOS", /\bMac OS X\b|\bMacintosh\b/],
  ["ChromeOS", /\bCrOS\b/],
  ["Linux", /\bLinux\b/],
];

const MOBILE = /\b(?:iPhone|iPod|Windows Phone)\b|\bAndroid\b.*\bMobile\b/;
/** A bot names itself with a product token: `Googlebot/2.1`, `Wget/1.21`. */
const PRODUCT = /\b([A-Za-z][\w.-]{0,40})\/([\w.]{1,40})/g;

function product(text: string): { name: string; version: string } {
  for (const m of text.matchAll(PRODUCT)) {
    const name = m[1] ?? "";
    if (!/^(?:Mozilla|AppleWebKit|KHTML|Gecko|Version|Mobile|Safari)$/i.test(name)) return { name, version: m[2] ?? "" };
  }
  return { name: "", version: "" };
}

export function parseUserAgent(raw: string): UserAgentInfo {
  // A User-Agent is attacker-controlled; these patterns are linear, and 1 KiB is plenty to classify.
  const text = raw.length > 1024 ? raw.slice(0, 1024) : raw;
  const isBot = BOT.test(text);
  const os = SYSTEMS.find(([, re]) => re.test(text))?.[0] ?? "";
  const isMobile = MOBILE.test(text);
  for (const [name, re] of BROWSERS) {
    const m = re.exec(text);
    if (m) return { raw, isBot, name, version: m[1] ?? "", os, isMobile, browserName: name, browserVersion: m[1] ?? "" };
  }
  return { raw, isBot, ...product(text), os, isMobile, browserName: "", browserVersion: "" };
}
