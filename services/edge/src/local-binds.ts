import { ErrorCode, OnrampError } from "@onramp/errors";
import { BIND_POLICY_SOURCE, type Bind } from "@onramp/proto";
import { endpointIdOf, policyHash, type BindingClaim, type BindingRecord, type Registry } from "@onramp/registry";
import type { MemberStatus } from "@onramp/mesh";
import type { EdgeMetrics, Logger } from "@onramp/telemetry";
import type { AgentSession } from "./agent-session.js";
import { parseEndpointUrl, type EndpointUrl } from "./endpoint-url.js";
import type { MeshRouting } from "./mesh-routing.js";
import { RANDOM_URL_ATTEMPTS } from "./random-urls.js";

export interface LocalBindsDeps {
  edgeId: string;
  /** The edge this one is a worker of (`onramp edge --workers`), written in every binding; undefined for one process. */
  group: string | undefined;
  region: string;
  registry: Registry;
  routing: MeshRouting;
  /** Validates a bind's policy text; throws POLICY_INVALID with every problem listed, positions under `source`. */
  validatePolicy(text: string, source: string): void;
  /** The random URL to try for a bind that names none, at `attempt` (1 to RANDOM_URL_ATTEMPTS). */
  randomUrl(session: AgentSession, bindId: string, attempt: number): EndpointUrl;
  /** Throws BIND_DENIED when the session's authtoken may not bind `url`; `picked`: the edge chose it. */
  authorize(session: AgentSession, bindId: string, url: EndpointUrl, picked: boolean): void;
  /** Tells the other edges at once (gossip). */
  announce(key: string, revision: number, binding: BindingRecord | undefined): void;
  /** Tells the other edges how a member is, at once (gossip). */
  announceStatus(status: MemberStatus): void;
  metrics: EdgeMetrics;
  logger: Logger;
}

/** Pool weights are 1–1000 (0 from an agent that sets none means 1). */
const MAX_WEIGHT = 1000;

/**
 * The binds of the agent sessions on this edge: each is claimed in the registry (which decides
 * conflicts for the whole mesh), entered in the routing view at once, announced to the other
 * edges, and released when the agent unbinds or its session ends.
 */
export class LocalBinds {
  /** bind id → the session that holds it here. Bind ids are chosen by agents and kept across reconnects. */
  private readonly sessions = new Map<string, AgentSession>();

  constructor(private readonly deps: LocalBindsDeps) {}

  /** The session holding `bindId` here, if it is the one the binding names. */
  sessionFor(bindId: string, sessionId?: string): AgentSession | undefined {
    const session = this.sessions.get(bindId);
    return session && !session.ended && (sessionId === undefined || session.id === sessionId) ? session : undefined;
  }

  async bind(session: AgentSession, bind: Bind): Promise<{ endpointId: string; url: string }> {
    const { metrics, logger } = this.deps;
    try {
      if (session.binds.has(bind.bindId)) {
        throw new OnrampError(ErrorCode.InvalidArgument, `bind id ${bind.bindId} is already used in this session`);
      }
      if (bind.weight > MAX_WEIGHT) throw new OnrampError(ErrorCode.InvalidArgument, `pool weight ${bind.weight} is out of range (1 to ${MAX_WEIGHT})`);
      const text = bind.trafficPolicy.trim();
      // The agent names where its policy came from (a file), so errors point there.
      if (text) this.deps.validatePolicy(bind.trafficPolicy, bind.metadata[BIND_POLICY_SOURCE] || "traffic policy");
      const claim = await this.claim(session, bind, text);
      if (session.ended) {
        void this.deps.registry.releaseBinding(claim);
        throw new OnrampError(ErrorCode.AgentDisconnected, "the session ended while binding");
      }
      // Again: the token's ACL or the reservations may have changed while the claim was out.
      try {
        this.deps.authorize(session, bind.bindId, parseEndpointUrl(claim.binding.url), !bind.url);
      } catch (err) {
        void this.deps.registry.releaseBinding(claim);
        throw err;
      }
      session.binds.set(bind.bindId, claim);
      this.sessions.set(bind.bindId, session);
      this.deps.routing.view.put(claim.key, claim.revision, claim.binding);
      this.deps.routing.refresh(claim.key);
      this.deps.announce(claim.key, claim.revision, claim.binding);
      metrics.binds.inc({ result: "ok" });
      logger.info({ session: session.id, agent: session.agentId, url: claim.binding.url, pooling: bind.poolingEnabled }, "endpoint bound");
      return { endpointId: endpointIdOf(claim.binding.host), url: claim.binding.url };
    } catch (err) {
      metrics.binds.inc({ result: err instanceof OnrampError ? err.code : ErrorCode.Internal });
      throw err;
    }
  }

  async unbind(session: AgentSession, bindId: string): Promise<void> {
    const claim = session.binds.get(bindId);
    if (!claim) return;
    session.binds.delete(bindId);
    if (this.sessions.get(bindId) === session) this.sessions.delete(bindId);
    this.deps.routing.refresh(claim.key);
    const revision = await this.deps.registry.releaseBinding(claim);
    // Released here, or replaced by a newer claim of the same agent: either way this member is
    // gone; announce a removal only when the key itself went.
    if (revision !== undefined) {
      this.deps.routing.view.remove(claim.key, revision);
      this.deps.announce(claim.key, revision, undefined);
    }
    this.deps.logger.info({ session: session.id, url: claim.binding.url }, "endpoint unbound");
  }

  /**
   * The agent's health checks of a bind's upstream changed their verdict: the member leaves (or
   * rejoins) the pool here at once and at every other edge with the status update.
   */
  setHealth(session: AgentSession, bindId: string, healthy: boolean, detail: string): void {
    const claim = session.binds.get(bindId);
    if (!claim) return;
    const status = this.deps.routing.setOwnHealth(claim.key, healthy, detail);
    if (!status) return;
    this.deps.announceStatus(status);
    this.deps.metrics.memberHealth.inc({ healthy: String(healthy) });
    const fields = { session: session.id, agent: session.agentId, url: claim.binding.url, detail };
    if (healthy) this.deps.logger.info(fields, "member healthy again");
    else this.deps.logger.warn(fields, "member unhealthy: its agent's health check fails; no new requests go to it");
  }

  /** Releases every bind of an ended session. */
  async removeSession(session: AgentSession): Promise<void> {
    await Promise.all([...session.binds.keys()].map((id) => this.unbind(session, id)));
  }

  private async claim(session: AgentSession, bind: Bind, policyText: string): Promise<BindingClaim> {
    const record = (url: EndpointUrl): BindingRecord => ({
      url: url.url,
      host: url.host,
      pooling: bind.poolingEnabled,
      traffic_policy: policyText ? bind.trafficPolicy : "",
      policy_hash: policyHash(policyText),
      edge: this.deps.edgeId,
      region: this.deps.region,
      agent_id: session.agentId,
      session_id: session.id,
      bind_id: bind.bindId,
      upstream: bind.upstream?.url ?? "",
      bound_at: new Date().toISOString(),
      ...(bind.weight > 1 ? { weight: bind.weight } : {}),
      ...(this.deps.group !== undefined ? { group: this.deps.group } : {}),
    });
    if (bind.url) {
      const url = parseEndpointUrl(bind.url);
      this.deps.authorize(session, bind.bindId, url, false);
      return this.deps.registry.claimBinding(record(url));
    }
    for (let attempt = 1; ; attempt++) {
      const url = this.deps.randomUrl(session, bind.bindId, attempt);
      this.deps.authorize(session, bind.bindId, url, true);
      try {
        return await this.deps.registry.claimBinding(record(url));
      } catch (err) {
        if (!(err instanceof OnrampError && err.code === ErrorCode.BindConflict) || attempt >= RANDOM_URL_ATTEMPTS) throw err;
      }
    }
  }
}
