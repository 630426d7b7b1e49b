import { mkdirSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { addEdge, saveAuthtoken } from "./agent-config-edit.js";

const scratch = () => mkdtempSync(join(tmpdir(), "onramp-edit-"));
const mode = (path: string) => statSync(path).mode & 0o777;

describe("editing the agent config", () => {
  it("creates the folders 0700 and the file 0600, as it holds the authtoken", () => {
    const path = join(scratch(), "cfg", "onramp", "onramp.yml");
    saveAuthtoken(path, "s3cret");
    expect(readFileSync(path, "utf8")).toBe("authtoken: s3cret\n");
    expect(mode(path)).toBe(0o600);
    expect(mode(join(path, ".."))).toBe(0o700);
    expect(mode(join(path, "..", ".."))).toBe(0o700);
  });

  it("keeps comments and other settings, replaces the authtoken, tightens a loose file to 0600", () => {
    const path = join(scratch(), "onramp.yml");
    writeFileSync(path, "# my agent\nauthtoken: old # from the wiki\nlog_level: info\nendpoints:\n  web:\n    upstream: 3000 # the app\n", { mode: 0o644 });
    saveAuthtoken(path, "new");
    expect(readFileSync(path, "utf8")).toBe("# my agent\nauthtoken: new # from the wiki\nlog_level: info\nendpoints:\n  web:\n    upstream: 3000 # the app\n");
    expect(mode(path)).toBe(0o600);
  });

  it("appends edges to a list without repeats, counting the older edge: key", () => {
    const path = join(scratch(), "onramp.yml");
    writeFileSync(path, "edge: a.example.com:4443 # first\n");
    expect(addEdge(path, "a.example.com:4443")).toBe(false);
    expect(addEdge(path, "b.example.com:4443")).toBe(true);
    expect(addEdge(path, "c.example.com:4443")).toBe(true);
    expect(addEdge(path, "b.example.com:4443")).toBe(false);
    expect(readFileSync(path, "utf8")).toBe("edge: a.example.com:4443 # first\nedges:\n  - b.example.com:4443\n  - c.example.com:4443\n");
  });

  it("turns a single edges: value into a list, and fills a comments-only file", () => {
    const single = join(scratch(), "onramp.yml");
    writeFileSync(single, "edges: a.example.com:4443\n");
    addEdge(single, "b.example.com:4443");
    expect(readFileSync(single, "utf8")).toBe("edges:\n  - a.example.com:4443\n  - b.example.com:4443\n");

    const comments = join(scratch(), "onramp.yml");
    writeFileSync(comments, "# nothing yet\n");
    saveAuthtoken(comments, "t");
    expect(readFileSync(comments, "utf8")).toMatch(/^# nothing yet\n\n?authtoken: t\n$/);
  });

  it("refuses to edit a file it cannot parse, with the position", () => {
    const path = join(scratch(), "onramp.yml");
    writeFileSync(path, "authtoken: [oops\n");
    expect(() => saveAuthtoken(path, "t")).toThrow(new RegExp(`^${path}:2:1: YAML syntax error: .*; fix it before changing the file with onramp config$`));
    expect(readFileSync(path, "utf8")).toBe("authtoken: [oops\n");
  });

  it("writes through a symlinked config (dotfile managers) and keeps the link", () => {
    const dir = scratch();
    mkdirSync(join(dir, "dotfiles"));
    writeFileSync(join(dir, "dotfiles", "onramp.yml"), "log_level: info\n");
    symlinkSync(join(dir, "dotfiles", "onramp.yml"), join(dir, "onramp.yml"));
    saveAuthtoken(join(dir, "onramp.yml"), "t");
    expect(readFileSync(join(dir, "dotfiles", "onramp.yml"), "utf8")).toBe("log_level: info\nauthtoken: t\n");
  });
});
