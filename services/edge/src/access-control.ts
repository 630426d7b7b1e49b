import { ErrorCode, OnrampError } from "@onramp/errors";
import { AccessIndex, authtokenKey, type AccessEvent, type AuthtokenRecord, type ControlStore, type RegistryWatch } from "@onramp/registry";
import type { Logger } from "@onramp/telemetry";
import type { AgentSession } from "./agent-session.js";
import { createAuthtokenCheck } from "./authtokens.js";
import { authOf, bindDenial, type Credential } from "./bind-access.js";
import { parseEndpointUrl, type EndpointUrl } from "./endpoint-url.js";

/** Where an edge learns authtokens and reserved domains: a `ControlStore`, etcd or in-memory. */
export type AccessSource = Pick<ControlStore, "watchAccess" | "close">;

export interface AccessControlDeps {
  /** The edge's `--authtoken` tokens. */
  bootstrapTokens: readonly string[];
  allowAnyToken: boolean;
  /** Registry tokens and reserved domains; without one, only the bootstrap tokens exist. Closed by `close()`. */
  source: AccessSource | undefined;
  /** The live sessions on this edge, re-checked when a token or a reservation changes. */
  sessions(): Iterable<AgentSession>;
  /** Whether the edge picked `host` for this bind (random-urls.ts), which a registry token needs no rule for. */
  pickedFor(credential: Credential, bindId: string, host: string): boolean;
  logger: Logger;
}

/**
 * Who may connect and what they may bind, on one edge. Registry tokens and reserved domains come
 * from the source's `watchAccess` into an `AccessIndex`, so a hello or a bind costs no registry
 * round trip. When a token is revoked, or its ACL or a new reservation no longer allows a bind
 * one of its sessions holds, that session ends as soon as the event arrives; the edge then
 * releases its binds, which takes the endpoints offline at every edge.
 */
export class AccessControl {
  readonly index = new AccessIndex();
  /** Whether a token is one of the bootstrap tokens (constant-time). */
  private readonly listed: (token: string) => boolean;
  private watch: RegistryWatch | undefined;
  /** Until the first listing arrives, a token that is not a bootstrap one cannot be judged. */
  private loaded: boolean;

  constructor(private readonly deps: AccessControlDeps) {
    this.listed = createAuthtokenCheck(deps.bootstrapTokens, false);
    this.loaded = deps.source === undefined;
  }

  /** Lists tokens and domains and follows them; resolves once the listing is in. */
  start(): Promise<void> {
    if (!this.deps.source || this.watch) return Promise.resolve();
    this.watch = this.deps.source.watchAccess((event) => this.onEvent(event));
    return this.watch.ready();
  }

  async close(): Promise<void> {
    this.watch?.close();
    await this.deps.source?.close();
  }

  /**
   * The credential `token` proves, or undefined when it proves none. A registry token is looked
   * up first, so its ACL holds even on an edge that takes any token. Throws a retryable
   * REGISTRY_UNAVAILABLE while the registry's tokens are not loaded yet.
   */
  admit(token: string): Credential | undefined {
    const record = this.index.authtokenFor(token);
    if (record) return { kind: "authtoken", token: record };
    if (this.listed(token)) return { kind: "bootstrap" };
    if (!this.loaded) throw new OnrampError(ErrorCode.RegistryUnavailable, "the edge is still loading authtokens from the registry; try again shortly");
    return this.deps.allowAnyToken ? { kind: "bootstrap" } : undefined;
  }

  /**
   * Throws BIND_DENIED when the session may not bind `url` for `bindId`. `picked`: the edge just
   * picked the URL (the agent named none).
   */
  authorize(session: AgentSession, bindId: string, url: EndpointUrl, picked: boolean): void {
    const denial = this.denial(session.credential, bindId, url, picked);
    if (!denial) return;
    this.deps.logger.info({ session: session.id, agent: session.agentId, auth: authOf(session.credential), url: url.url, reason: denial.message }, "bind denied");
    throw denial;
  }

  private denial(credential: Credential, bindId: string, url: EndpointUrl, picked: boolean): OnrampError | undefined {
    const random = picked || this.deps.pickedFor(credential, bindId, url.host);
    return bindDenial(credential, url, random, this.index.reservedNames());
  }

  /**
   * Applies a change, then looks again at the sessions it may concern: those of a token that
   * changed or went (every token's after a `reset`), and every session when a domain was
   * reserved. A released reservation only allows more, and concerns nobody.
   */
  private onEvent(event: AccessEvent): void {
    this.index.apply(event);
    if (event.kind === "reset") {
      this.loaded = true;
      const { snapshot } = event;
      this.deps.logger.debug({ revision: snapshot.revision, authtokens: snapshot.authtokens.length, domains: snapshot.domains.length }, "access listed");
    } else {
      this.deps.logger.debug({ key: event.key, revision: event.revision, deleted: !event.value }, "access changed");
    }
    if (event.kind === "domain" && !event.value) return;
    const listed = event.kind === "reset" ? new Map(event.snapshot.authtokens.map((s) => [s.key, s.authtoken])) : undefined;
    for (const session of [...this.deps.sessions()]) {
      if (session.ended) continue;
      if (session.credential.kind === "authtoken") {
        const id = session.credential.token.id;
        const key = authtokenKey(id);
        let record: AuthtokenRecord | undefined = session.credential.token;
        if (listed) record = listed.get(key);
        else if (event.kind === "authtoken") {
          if (event.key !== key) continue;
          record = event.value?.authtoken;
        }
        if (!record) {
          this.deps.logger.warn({ session: session.id, agent: session.agentId, auth: id }, "authtoken revoked: ending its session");
          session.end(new OnrampError(ErrorCode.AuthFailed, `authtoken revoked: ${id} was deleted from the registry`));
          continue;
        }
        session.credential = { kind: "authtoken", token: record };
      } else if (event.kind === "authtoken") {
        continue;
      }
      const denial = this.heldDenial(session);
      if (!denial) continue;
      this.deps.logger.warn({ session: session.id, agent: session.agentId, auth: authOf(session.credential), reason: denial.message }, "a bind is no longer allowed: ending its session");
      session.end(denial);
    }
  }

  /** The first bind the session holds that its credential no longer allows. */
  private heldDenial(session: AgentSession): OnrampError | undefined {
    for (const [bindId, claim] of session.binds) {
      const denial = this.denial(session.credential, bindId, parseEndpointUrl(claim.binding.url), false);
      if (denial) return new OnrampError(ErrorCode.BindDenied, `${denial.message} (the authtoken's ACL or the reserved domains changed after it was bound)`);
    }
    return undefined;
  }
}
