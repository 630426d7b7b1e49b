import { afterAll, describe, expect, it } from "vitest";
import { startOnramp, stopAll } from "./harness/processes.js";

afterAll(stopAll);

async function fails(args: string[]): Promise<string> {
  const proc = startOnramp("edge", ["edge", "--authtoken", "t", "--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0", "--admin-addr", "127.0.0.1:0", ...args]);
  const exit = await proc.exited;
  expect(exit.code).toBe(1);
  return proc.stderr.join("\n");
}

describe("onramp edge: mesh flags", () => {
  it("needs both --etcd and --nats", async () => {
    expect(await fails(["--etcd", "http://127.0.0.1:1"])).toMatch(/needs both --etcd and --nats \(got --etcd only\)/);
    expect(await fails(["--nats", "nats://127.0.0.1:1"])).toMatch(/needs both --etcd and --nats \(got --nats only\)/);
  });

  it("needs a cluster secret in a mesh, and a long enough one", async () => {
    expect(await fails(["--etcd", "http://127.0.0.1:1", "--nats", "nats://127.0.0.1:1"])).toMatch(/needs --cluster-secret/);
    expect(await fails(["--cluster-secret", "short"])).toMatch(/clusterSecret: must be at least 8 characters/);
  });

  it("refuses an edge id that cannot be a registry key segment", async () => {
    expect(await fails(["--edge-id", "a/b"])).toMatch(/edgeId: "a\/b" must be 1-128 letters, digits or \._:@-/);
  });
});
