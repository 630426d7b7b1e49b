import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openUrlMemory } from "./url-memory.js";

function memoryIn(dir = mkdtempSync(join(tmpdir(), "onramp-urls-"))) {
  const warnings: string[] = [];
  const path = join(dir, "state", "onramp", "urls.json");
  return { path, warnings, memory: openUrlMemory(path, (line) => void warnings.push(line)) };
}

describe("remembered URLs", () => {
  it("recalls the host name last given an upstream, across openings", () => {
    const { path, memory, warnings } = memoryIn();
    expect(memory.recall("http://localhost:3000")).toBeUndefined();
    memory.remember("http://localhost:3000", "k3xq9w2mzd.localhost");
    memory.remember("http://localhost:4000", "abc.localhost");
    expect(openUrlMemory(path, () => {}).recall("http://localhost:3000")).toBe("k3xq9w2mzd.localhost");
    expect(JSON.parse(readFileSync(path, "utf8"))).toEqual({ "http://localhost:3000": "k3xq9w2mzd.localhost", "http://localhost:4000": "abc.localhost" });
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(warnings).toEqual([]);
  });

  it("takes back only names the embedded edge gives", () => {
    const { path, memory } = memoryIn();
    memory.remember("http://localhost:3000", "app.example.com");
    expect(memory.recall("http://localhost:3000")).toBeUndefined();
    memory.remember("http://localhost:3000", "ok.localhost");
    writeFileSync(path, JSON.stringify({ "http://localhost:3000": "evil.example.com", "http://localhost:4000": 7 }));
    expect(memory.recall("http://localhost:3000")).toBeUndefined();
    expect(memory.recall("http://localhost:4000")).toBeUndefined();
  });

  it("warns about a damaged file and starts over", () => {
    const { path, memory, warnings } = memoryIn();
    memory.remember("http://localhost:3000", "a.localhost");
    writeFileSync(path, "{not json");
    expect(memory.recall("http://localhost:3000")).toBeUndefined();
    expect(warnings).toEqual([`onramp: ignoring ${path}: it is not a JSON object of upstream → host name\n`]);
    memory.remember("http://localhost:3000", "b.localhost");
    expect(memory.recall("http://localhost:3000")).toBe("b.localhost");
  });
});
