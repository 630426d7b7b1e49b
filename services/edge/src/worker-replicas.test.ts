import type { BindingRecord } from "@onramp/registry";
import { describe, expect, it } from "vitest";
import { WorkerReplicas } from "./worker-replicas.js";

// One agent bind through the workers of one edge (`onramp edge --workers`) is one member: which
// of its bindings a worker routes to.

function binding(edge: string, group: string | undefined, session = `s-${edge}`): BindingRecord {
  return {
    url: "http://app.example.com", host: "app.example.com", pooling: false, traffic_policy: "", policy_hash: "",
    edge, region: "r", agent_id: "agent", session_id: session, bind_id: "bind-1", upstream: "", bound_at: "",
    ...(group ? { group } : {}),
  };
}

describe("WorkerReplicas", () => {
  it("counts nothing as a replica for an edge of one process", () => {
    expect(WorkerReplicas.replicaOf(binding("edge-a", undefined))).toBeUndefined();
    expect(WorkerReplicas.replicaOf(binding("edge-a-w1", "edge-a"))).toBe("edge-a\nbind-1");
  });

  it("routes over this worker's own session when it has one, else through the group's first worker", () => {
    const sessions = new Set(["s-edge-a-w1"]);
    const replicas = new WorkerReplicas("edge-a-w1", (b) => sessions.has(b.session_id));
    const replica = "edge-a\nbind-1";
    // The first worker's binding arrives first (gossip): it is the member for now.
    expect(replicas.update(replica, "k0", binding("edge-a", "edge-a"))).toEqual({ before: undefined, after: "k0" });
    // This worker's own comes: the member moves here.
    expect(replicas.update(replica, "k1", binding("edge-a-w1", "edge-a"))).toEqual({ before: "k0", after: "k1" });
    // Another worker's binding changes nothing.
    expect(replicas.update(replica, "k2", binding("edge-a-w2", "edge-a"))).toEqual({ before: "k1", after: "k1" });
    // This worker's session ends: back to the first worker's, not to any.
    sessions.clear();
    expect(replicas.update(replica, "k1", undefined)).toEqual({ before: "k1", after: "k0" });
    expect(replicas.update(replica, "k0", undefined)).toEqual({ before: "k0", after: "k2" });
    expect(replicas.update(replica, "k2", undefined)).toEqual({ before: "k2", after: undefined });
  });

  it("prefers any live binding to one of this worker's whose session is gone", () => {
    const replicas = new WorkerReplicas("edge-a", () => false);
    const replica = "edge-a\nbind-1";
    replicas.update(replica, "k0", binding("edge-a", "edge-a"));
    expect(replicas.update(replica, "k1", binding("edge-a-w1", "edge-a")).after).toBe("k1");
  });
});
