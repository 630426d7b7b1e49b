import Bowser from "bowser";
import { isbot } from "isbot";

/**
 * User-Agent classification for `req.user_agent.*`: browsers, systems and device types by bowser
 * (MIT, maintained), bots by isbot (Unlicense, maintained), and the product token of non-browser
 * clients (`curl`, `python-requests`) from a small table here, which neither library names. Good
 * for "block bots", "route Safari elsewhere", "phones get the lite site". Tested with real strings
 * in user-agent.test.ts.
 */
export interface UserAgentInfo {
  readonly raw: string;
  readonly isBot: boolean;
  /** The browser, or else the client's product (`curl`, `Googlebot`, `python-requests`); empty if none. */
  readonly name: string;
  readonly version: string;
  /** `Windows`, `Android`, `iOS` (iPads too), `macOS`, `ChromeOS` or `Linux`; empty when not recognised. */
  readonly os: string;
  /** `10`, `17.4`, `14`: dotted; empty when the string does not say (macOS and Windows 11 freeze theirs). */
  readonly osVersion: string;
  /** A phone. */
  readonly isMobile: boolean;
  /** An iPad or an Android tablet. */
  readonly isTablet: boolean;
  /** A desktop or laptop browser: a known desktop OS and not a phone, tablet or bot. */
  readonly isDesktop: boolean;
  /** `mobile`, `tablet`, `desktop`, `bot`, or empty when unknown. */
  readonly deviceType: string;
  /** The device as the string names it, vendor and model when known (`Apple iPad`, `Apple iPhone`); empty when it does not say. */
  readonly device: string;
  /** The URL a crawler or tool gives for itself (`http://www.google.com/bot.html`); empty without one. */
  readonly url: string;
  readonly browserName: string;
  readonly browserVersion: string;
}

type Row = readonly [name: string, pattern: RegExp];

/** Bots and non-browser clients: name → pattern whose group 1 is the version. */
const CLIENTS: readonly Row[] = [
  ["Chrome Headless", /\bHeadlessChrome\/([\d.]+)/],
  ["Googlebot", /\bGooglebot(?:-[A-Za-z]+)?\/([\d.]+)/],
  ["bingbot", /\bbingbot\/([\d.]+)/i],
  ["DuckDuckBot", /\bDuckDuckBot(?:-Https)?\/([\d.]+)/],
  ["YandexBot", /\bYandexBot\/([\d.]+)/],
  ["Baiduspider", /\bBaiduspider(?:-render)?\/([\d.]+)/],
  ["Applebot", /\bApplebot\/([\d.]+)/],
  ["GPTBot", /\bGPTBot\/([\d.]+)/],
  ["ClaudeBot", /\bClaudeBot\/([\d.]+)/],
  ["facebookexternalhit", /\bfacebookexternalhit\/([\d.]+)/],
  ["Twitterbot", /\bTwitterbot\/([\d.]+)/],
  ["curl", /^curl\/([\d.]+)/],
  ["Wget", /^Wget\/([\d.]+)/i],
  ["python-requests", /^python-requests\/([\d.]+)/],
  ["python-httpx", /^python-httpx\/([\d.]+)/],
  ["Python-urllib", /^Python-urllib\/([\d.]+)/],
  ["aiohttp", /\baiohttp\/([\d.]+)/],
  ["Go-http-client", /^Go-http-client\/([\d.]+)/],
  ["okhttp", /^okhttp\/([\d.]+)/],
  ["axios", /^axios\/([\d.]+)/],
  ["node-fetch", /^node-fetch(?:\/([\d.]+))?/],
  ["undici", /^undici(?:\/([\d.]+))?/],
  ["Java", /^Java\/([\d._]+)/],
  ["Apache-HttpClient", /^Apache-HttpClient\/([\d.]+)/],
  ["PostmanRuntime", /^PostmanRuntime\/([\d.]+)/],
  ["HTTPie", /^HTTPie\/([\d.]+)/],
];

/** A client with no browser row names itself with its first product token: `MyApp/1.2`. */
const PRODUCT = /\b([A-Za-z][\w.-]{0,40})\/([\w.]{1,40})/g;
const GENERIC = /^(?:Mozilla|AppleWebKit|KHTML|Gecko|Version|Mobile|Safari)$/i;

function first(rows: readonly Row[], text: string): { name: string; version: string } | undefined {
  for (const [name, re] of rows) {
    const m = re.exec(text);
    if (m) return { name, version: m[1] ?? "" };
  }
  return undefined;
}

function product(text: string): { name: string; version: string } {
  for (const m of text.matchAll(PRODUCT)) {
    if (!GENERIC.test(m[1] ?? "")) return { name: m[1] ?? "", version: m[2] ?? "" };
  }
  return { name: "", version: "" };
}

/** A URL in the string, as crawlers give theirs: `(compatible; Googlebot/2.1; +http://www.google.com/bot.html)`. */
const URL_IN_AGENT = /\+?(https?:\/\/[^\s;)]{1,200})/;

/** Windows NT kernel versions → the release people know (Windows 11 also says 10.0). */
const WINDOWS_RELEASES: Readonly<Record<string, string>> = { "10.0": "10", "6.3": "8.1", "6.2": "8", "6.1": "7", "6.0": "Vista", "5.1": "XP" };
const DESKTOP_SYSTEMS = new Set(["Windows", "macOS", "Linux", "ChromeOS"]);
/** bowser's long names → the short ones Onramp documents. */
const SHORT_NAMES: Readonly<Record<string, string>> = {
  "Microsoft Edge": "Edge",
  "Samsung Internet for Android": "Samsung Internet",
  "Chrome OS": "ChromeOS",
  "Yandex Browser": "Yandex Browser",
};
const short = (name: string | undefined): string => (name ? (SHORT_NAMES[name] ?? name) : "");

function osVersionOf(os: string, version: string | undefined, text: string): string {
  let v = (version ?? "").replace(/^NT /, "").replace(/_/g, ".");
  if (os === "ChromeOS" && !v) v = /\bCrOS \S+ ([\d.]+)/.exec(text)?.[1] ?? "";
  if (os === "Windows") v = WINDOWS_RELEASES[v] ?? v;
  // Browsers freeze macOS at 10.15.7 whatever the real version: it says nothing.
  if (os === "macOS" && v === "10.15.7") v = "";
  return v;
}

export function parseUserAgent(raw: string): UserAgentInfo {
  // A User-Agent is attacker-controlled; 1 KiB is plenty to classify and bounds the work.
  const text = raw.length > 1024 ? raw.slice(0, 1024) : raw;
  const client = first(CLIENTS, text);
  const parsed = text ? Bowser.parse(text) : undefined;
  // bowser names what it does not know by the string's first token ("Mozilla"): not a browser name.
  const bowserName = short(parsed?.browser.name);
  const browserName = client || bowserName === "Mozilla" ? "" : bowserName;
  const browserVersion = browserName ? (parsed?.browser.version ?? "") : "";
  const named = client ?? (browserName ? { name: browserName, version: browserVersion } : product(text));
  const isBot = text !== "" && (isbot(text) || parsed?.platform.type === "bot");
  const os = short(parsed?.os.name);
  const platform = isBot ? "bot" : (parsed?.platform.type ?? "");
  const isTablet = platform === "tablet";
  const isMobile = platform === "mobile";
  const isDesktop = platform === "desktop" || (platform === "" && !isBot && browserName !== "" && DESKTOP_SYSTEMS.has(os));
  const deviceType = isBot ? "bot" : isTablet ? "tablet" : isMobile ? "mobile" : isDesktop ? "desktop" : "";
  return {
    raw,
    isBot,
    name: named.name,
    version: named.version,
    os,
    osVersion: osVersionOf(os, parsed?.os.version, text),
    isMobile,
    isTablet,
    isDesktop,
    deviceType,
    device: [parsed?.platform.vendor, parsed?.platform.model].filter(Boolean).join(" "),
    url: URL_IN_AGENT.exec(text)?.[1] ?? "",
    browserName,
    browserVersion,
  };
}
