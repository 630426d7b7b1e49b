import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { formatLogfmt, formatTerm } from "./log-format.js";
import { createLogger, type Logger } from "./logger.js";

const dir = mkdtempSync(join(tmpdir(), "onramp-logger-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function newFile(content = ""): string {
  const file = join(dir, `log-${files++}.log`);
  if (content) writeFileSync(file, content);
  return file;
}

function flushed(logger: Logger): Promise<void> {
  return new Promise((resolve, reject) => logger.flush((err) => (err ? reject(err) : resolve())));
}

/** A record as pino writes it, at a fixed time. */
const TIME = Date.UTC(2026, 0, 2, 3, 4, 5, 678);
const record = { level: 40, time: TIME, pid: 42, name: "agent", edge: "127.0.0.1:4443", retryInMs: 250, msg: "lost the edge; reconnecting" };

describe("log formats", () => {
  it("logfmt: time, level, name and msg first, then the fields; quoting only where needed", () => {
    expect(formatLogfmt(record)).toBe('time=2026-01-02T03:04:05.678Z level=warn name=agent msg="lost the edge; reconnecting" pid=42 edge=127.0.0.1:4443 retryInMs=250');
    expect(formatLogfmt({ level: 30, time: TIME, msg: "x", text: 'say "hi"\n', empty: "", eq: "a=b", obj: { a: 1 }, ok: true, none: null })).toBe(
      'time=2026-01-02T03:04:05.678Z level=info msg=x text="say \\"hi\\"\\n" empty="" eq="a=b" obj="{\\"a\\":1}" ok=true none=null',
    );
  });

  it("logfmt: an error pino serialized becomes its message", () => {
    const err = { type: "Error", message: "boom here", stack: "Error: boom here\n    at x" };
    expect(formatLogfmt({ level: 50, time: TIME, msg: "failed", err })).toBe('time=2026-01-02T03:04:05.678Z level=error msg=failed err="boom here"');
  });

  it("pretty: local time, level, name: message, fields; no pid; the stack of an error underneath", () => {
    const d = new Date(TIME);
    const two = (n: number) => String(n).padStart(2, "0");
    const clock = `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.678`;
    expect(formatTerm(record, { color: false })).toBe(`${clock} WARN  agent: lost the edge; reconnecting edge=127.0.0.1:4443 retryInMs=250`);
    expect(formatTerm({ ...record, level: 30 }, { color: true })).toBe(`${clock} \x1b[32mINFO \x1b[0m agent: lost the edge; reconnecting edge=127.0.0.1:4443 retryInMs=250`);
    const err = { type: "Error", message: "boom", stack: "Error: boom\n    at f (x.js:1:1)" };
    expect(formatTerm({ level: 50, time: TIME, msg: "failed", err }, { color: false }).split("\n")).toEqual([
      `${clock} ERROR failed err=boom`,
      "    Error: boom",
      "        at f (x.js:1:1)",
    ]);
  });
});

describe("createLogger", () => {
  it("appends to a file, as JSON by default (a file is not a terminal)", async () => {
    const file = newFile('{"earlier":true}\n');
    const logger = createLogger({ level: "info", name: "edge", destination: { file } });
    logger.info({ http: "127.0.0.1:8080" }, "edge ready");
    logger.debug("not at info");
    await flushed(logger);
    const lines = readFileSync(file, "utf8").trimEnd().split("\n");
    expect(lines[0]).toBe('{"earlier":true}');
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[1]!)).toMatchObject({ level: 30, name: "edge", http: "127.0.0.1:8080", msg: "edge ready", pid: process.pid });
  });

  it("writes logfmt and pretty lines when asked", async () => {
    const logfmt = newFile();
    const a = createLogger({ name: "agent", destination: { file: logfmt }, format: "logfmt" });
    a.warn({ edge: "e:1" }, "lost the edge");
    await flushed(a);
    expect(readFileSync(logfmt, "utf8")).toMatch(/^time=\S+Z level=warn name=agent msg="lost the edge" pid=\d+ edge=e:1\n$/);

    const term = newFile();
    const t = createLogger({ name: "agent", destination: { file: term }, format: "pretty" });
    t.error({ code: "AUTH_FAILED" }, "stopping");
    await flushed(t);
    // Not a terminal, so no color even in the term format.
    expect(readFileSync(term, "utf8")).toMatch(/^\d\d:\d\d:\d\d\.\d{3} ERROR agent: stopping code=AUTH_FAILED\n$/);
  });

  it("shares one writer between loggers of the same file", async () => {
    const file = newFile();
    const agent = createLogger({ name: "agent", destination: { file }, format: "logfmt" });
    const edge = createLogger({ name: "edge", destination: { file: join(dir, ".", file.slice(dir.length + 1)) }, format: "logfmt" });
    for (let i = 0; i < 50; i++) {
      agent.info({ i }, "a");
      edge.info({ i }, "e");
    }
    await flushed(agent);
    const lines = readFileSync(file, "utf8").trimEnd().split("\n");
    expect(lines).toHaveLength(100);
    expect(lines.every((l) => /^time=\S+ level=info name=(agent|edge) msg=[ae] pid=\d+ i=\d+$/.test(l))).toBe(true);
  });

  it("fails when it is made if the file cannot be opened", () => {
    expect(() => createLogger({ destination: { file: join(dir, "no-such-dir", "x.log") } })).toThrow(/ENOENT/);
  });
});
