/**
 * Cheap User-Agent classification for `req.user_agent.*`: a handful of substring tests, no
 * database. Good enough for "block bots" and "route Safari elsewhere"; not a device detector.
 */
export interface UserAgentInfo {
  readonly raw: string;
  readonly isBot: boolean;
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

export function parseUserAgent(raw: string): UserAgentInfo {
  // A User-Agent is attacker-controlled; these patterns are linear, and 1 KiB is plenty to classify.
  const text = raw.length > 1024 ? raw.slice(0, 1024) : raw;
  for (const [name, re] of BROWSERS) {
    const m = re.exec(text);
    if (m) return { raw, isBot: BOT.test(text), browserName: name, browserVersion: m[1] ?? "" };
  }
  return { raw, isBot: BOT.test(text), browserName: "", browserVersion: "" };
}
