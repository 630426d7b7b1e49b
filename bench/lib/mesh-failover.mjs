// Edge c dies (SIGKILL) and comes back, `rounds` times. Each round times how long edge a keeps
// listing c's pool member (dead-edge detection), counts failed requests for an agent on both c and
// a while c dies (re-home), and after c restarts times the agent's reconnect to c.
import { membersOf, startMeshAgent, startMeshEdge, watchAdmin } from "./mesh-cluster.mjs";
import { pacedLoad, round, summarizePaced } from "./mesh-load.mjs";
import { sleep } from "./processes.mjs";

export const POOL_HOST = "pool.internal";
const REHOME_HOST = "rehome.bench.localhost";
/** Paced requests per second through each of edges a and b while c dies. */
const RATE_PER_S = 100;
/** Traffic before the kill, and after a has dropped c: pacing, not a wait for a state. */
const LEAD_MS = 500;
const TAIL_MS = 1_000;

/**
 * Needs the pool members at a and c (`pool.internal`) running; starts the re-home agent
 * (`--edge c,a`, not pooled). Leaves a restarted edge c in `cl.edges.c`.
 * @param {import("./mesh.mjs").Cluster} cl @param {number} rounds @param {(msg: string) => void} log
 */
export async function measureFailover(cl, rounds, log) {
  const { a, b } = cl.edges;
  const agent = await startMeshAgent({ name: "agent-rehome", upstream: cl.upstream, edges: [cl.edges.c.agent, a.agent], url: `http://${REHOME_HOST}` });
  cl.track(agent.proc);
  /** @type {Record<string, any>[]} */
  const out = [];
  /** @type {string | undefined} the session of c's pool member that the last kill took down */
  let killedSession;
  for (let i = 0; i < rounds; i++) {
    const c = cl.edges.c;
    // Ready: a lists c's pool member (a new session after a restart) and both re-home members;
    // b too; c holds the re-home agent's session.
    const pool = await watchAdmin(`round ${i + 1}: edge a lists c's pool member and both re-home members`, a.admin,
      (eps) => membersOf(eps, POOL_HOST).some((m) => m.edge === "c" && m.session_id !== killedSession) && bothRehomeMembers(eps),
      { intervalMs: 20, timeoutMs: 60_000 });
    await watchAdmin(`round ${i + 1}: edge b lists both re-home members`, b.admin, bothRehomeMembers, { intervalMs: 20, timeoutMs: 30_000 });
    killedSession = membersOf(pool.endpoints, POOL_HOST).find((m) => m.edge === "c")?.session_id;

    const stop = { stopped: false };
    const viaA = pacedLoad({ targets: [{ http: a.http, host: REHOME_HOST }], ratePerS: RATE_PER_S, stop });
    const viaB = pacedLoad({ targets: [{ http: b.http, host: REHOME_HOST }], ratePerS: RATE_PER_S, stop });
    let detected;
    try {
      await sleep(LEAD_MS);
      log(`mesh failover round ${i + 1}/${rounds}: SIGKILL edge c`);
      const killAt = performance.now();
      c.proc.child.kill("SIGKILL");
      const dropped = (/** @type {import("./mesh-cluster.mjs").MeshEdge} */ e) =>
        watchAdmin(`edge ${e.id} drops c's pool member`, e.admin, (eps) => !membersOf(eps, POOL_HOST).some((m) => m.edge === "c"), { intervalMs: 10, timeoutMs: 20_000 });
      const [atA, atB] = await Promise.all([dropped(a), dropped(b)]);
      detected = { killAt, detectMs: round(atA.at - killAt), detectAtBMs: round(atB.at - killAt) };
      await sleep(TAIL_MS);
    } finally {
      stop.stopped = true;
    }
    const [loadA, loadB] = await Promise.all([viaA, viaB]);
    const sumA = summarizePaced(loadA, detected.killAt);
    const sumB = summarizePaced(loadB, detected.killAt);
    await c.proc.exited;

    // Restart c on the same id and ports; the agents reconnect to it on their own (with backoff).
    const restartAt = performance.now();
    const c2 = await startMeshEdge({ id: "c", region: c.region, etcd: cl.etcd, nats: cl.nats, addresses: { http: c.http, agent: c.agent, admin: c.admin } });
    const readyAt = performance.now();
    cl.track(c2.proc);
    cl.edges.c = c2;
    let staleSeenAtA = false;
    const [rehomed, relisted] = await Promise.all([
      watchAdmin("restarted edge c holds the re-home agent again", c2.admin, (eps) => membersOf(eps, REHOME_HOST).some((m) => m.edge === "c" && m.local),
        { intervalMs: 5, timeoutMs: 60_000 }),
      watchAdmin("edge a lists the pool member at the restarted c", a.admin, (eps) => {
        const atC = membersOf(eps, POOL_HOST).filter((m) => m.edge === "c");
        if (atC.some((m) => m.session_id === killedSession)) staleSeenAtA = true;
        return atC.some((m) => m.session_id !== killedSession);
      }, { intervalMs: 5, timeoutMs: 60_000 }),
    ]);
    const r = {
      detectMs: detected.detectMs,
      detectAtBMs: detected.detectAtBMs,
      viaA: sumA,
      viaB: sumB,
      cDownMs: round(readyAt - detected.killAt),
      cStartMs: round(readyAt - restartAt),
      agentBackAtCMs: round(rehomed.at - readyAt),
      poolMemberBackAtAMs: round(relisted.at - readyAt),
      staleMemberListedAtA: staleSeenAtA,
    };
    log(`mesh failover round ${i + 1}: a dropped c's member after ${r.detectMs} ms (b ${r.detectAtBMs} ms); ` +
      `via a ${sumA.failed}/${sumA.sent} failed, longest gap ${sumA.longestGapMs} ms; via b ${sumB.failed}/${sumB.sent} failed, longest gap ${sumB.longestGapMs} ms; ` +
      `agent back at c ${r.agentBackAtCMs} ms after c was ready`);
    out.push(r);
  }
  const max = (/** @type {(r: any) => number} */ f) => Math.max(...out.map(f));
  return {
    rounds: out,
    detectMaxMs: max((r) => r.detectMs),
    rehomeViaA: { failed: out.reduce((n, r) => n + r.viaA.failed, 0), sent: out.reduce((n, r) => n + r.viaA.sent, 0), longestGapMs: max((r) => r.viaA.longestGapMs) },
    rehomeViaB: { failed: out.reduce((n, r) => n + r.viaB.failed, 0), sent: out.reduce((n, r) => n + r.viaB.sent, 0), longestGapMs: max((r) => r.viaB.longestGapMs) },
    agentBackAtCMaxMs: max((r) => r.agentBackAtCMs),
    ratePerS: RATE_PER_S,
  };
}

/** @param {import("./mesh-cluster.mjs").EndpointView[]} eps */
function bothRehomeMembers(eps) {
  const edges = new Set(membersOf(eps, REHOME_HOST).map((m) => m.edge));
  return edges.has("a") && edges.has("c");
}
