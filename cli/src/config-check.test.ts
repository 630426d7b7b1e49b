import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkAgentConfig } from "./config-check.js";

function folder(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "onramp-check-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe("onramp config check", () => {
  it("passes a valid config with inline and file policies", () => {
    const dir = folder({
      "onramp.yml": "endpoints:\n  web:\n    upstream: 3000\n    traffic_policy_file: p.yml\n  api:\n    upstream: 4000\n    traffic_policy:\n      on_http_request:\n        - actions: [{type: deny}]\n",
      "p.yml": "on_http_request:\n  - actions: [{type: deny}]\n",
    });
    expect(checkAgentConfig(join(dir, "onramp.yml"))).toEqual({ errors: undefined, warnings: undefined });
  });

  it("puts each policy error at its line:column in the file it is in, config problems among them", () => {
    const dir = folder({
      "onramp.yml": [
        "endpoints:", //                                                               1
        "  map:", //                                                                   2
        "    upstream: 3000", //                                                       3
        "    traffic_policy:", //                                                      4
        "      on_http_request:", //                                                   5
        "        - actions:", //                                                       6
        "            - type: nope", //                                                 7
        "  literal:", //                                                               8
        "    upstream: 3001", //                                                       9
        "    traffic_policy: |", //                                                    10
        "      on_http_request:", //                                                   11
        "        - actions: [{type: deny, config: {status_code: 99}}]", //             12
        "  quoted:", //                                                                13
        "    upstream: ftp://x", //                                                    14
        `    traffic_policy: '{"on_http_request": [{"actions": [{"type": "zz"}]}]}'`, // 15
        "  file:", //                                                                  16
        "    upstream: 3003", //                                                       17
        "    traffic_policy_file: p.yml", //                                           18
      ].join("\n"),
      "p.yml": "on_http_request:\n  - actions:\n      - type: add-headers\n        config: {headers: 5}\n",
    });
    const path = join(dir, "onramp.yml");
    const lines = checkAgentConfig(path).errors!.split("\n").map((l) => l.replace(/ \(known: [^)]*\)$/, " (known: …)"));
    expect(lines).toEqual([
      `${path}:7:21: on_http_request[0]: actions[0].type: unknown action type "nope" (known: …)`,
      `${path}:12:56: on_http_request[0]: actions[0].config.status_code: must be an integer ≥ 100, got number 99`,
      `${path}:14:15: endpoints.quoted.upstream: scheme ftp: is not supported (use http:// or https://)`,
      `${path}:15:65: on_http_request[0]: actions[0].type: unknown action type "zz" (known: …)`,
      `${join(dir, "p.yml")}:4:27: on_http_request[0]: actions[0].config.headers: must be a map, got number 5`,
    ]);
  });

  it("reports a policy file it cannot read at the key naming it", () => {
    const dir = folder({ "onramp.yml": "endpoints:\n  web:\n    upstream: 3000\n    traffic_policy_file: missing.yml\n" });
    expect(checkAgentConfig(join(dir, "onramp.yml")).errors).toBe(
      `${join(dir, "onramp.yml")}:4:26: endpoints.web.traffic_policy_file: cannot read ${join(dir, "missing.yml")}: no such file`,
    );
  });

  it("passes warnings on separately", () => {
    const dir = folder({ "onramp.yml": "endpoints:\n  web:\n    upstream: 3000\n    traffic_policy:\n      on_http_request:\n        - actions: [{type: deny}, {type: deny}]\n" });
    const result = checkAgentConfig(join(dir, "onramp.yml"));
    expect(result.errors).toBeUndefined();
    expect(result.warnings).toMatch(/onramp\.yml:6:35: warning: on_http_request\[0\]: actions\[1\]: never runs/);
  });
});
