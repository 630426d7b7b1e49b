import { create } from "@bufbuild/protobuf";
import { ErrorCode, type OnrampError } from "@onramp/errors";
import { HelloSchema } from "@onramp/proto";
import { authtokenKey, createMemoryControlStore, MemoryRegistryStore, type AccessEvent, type ControlStore } from "@onramp/registry";
import { silentLogger } from "@onramp/telemetry";
import { describe, expect, it } from "vitest";
import { AccessControl, type AccessSource } from "./access-control.js";
import { AgentSession } from "./agent-session.js";
import type { Credential } from "./bind-access.js";
import { parseEndpointUrl } from "./endpoint-url.js";

/** An edge's access control over an in-memory registry, with sessions as the edge would hold them. */
async function setup(options: { allowAnyToken?: boolean; source?: AccessSource } = {}) {
  const store = new MemoryRegistryStore();
  const control: ControlStore = createMemoryControlStore(store);
  const sessions = new Map<string, AgentSession>();
  const ended = new Map<AgentSession, OnrampError | undefined>();
  const access = new AccessControl({
    bootstrapTokens: ["boot"],
    allowAnyToken: options.allowAnyToken ?? false,
    source: options.source ?? createMemoryControlStore(store),
    sessions: () => sessions.values(),
    // Random URLs, as random-urls.ts would recognise them.
    pickedFor: (_credential, _bindId, host) => host.startsWith("rnd"),
    logger: silentLogger(),
  });
  await access.start();

  /** A session admitted with `secret`, holding a bind of each URL. */
  const connect = (secret: string, ...urls: string[]) => {
    const credential = access.admit(secret);
    if (!credential) throw new Error(`${secret} was not admitted`);
    let session: AgentSession;
    const channel = { send: () => undefined, fail: (error: OnrampError) => ended.set(session, error), end: () => ended.set(session, undefined) };
    session = new AgentSession(create(HelloSchema, { agentId: `agent-${sessions.size}` }), credential, "peer", channel, silentLogger(), (s) => sessions.delete(s.id));
    sessions.set(session.id, session);
    for (const [i, u] of urls.entries()) {
      const url = parseEndpointUrl(u);
      const binding = { url: url.url, host: url.host, pooling: false, traffic_policy: "", policy_hash: "", edge: "e1", region: "r", agent_id: session.agentId, session_id: session.id, bind_id: `bind_${i}`, upstream: "", bound_at: "" };
      session.binds.set(binding.bind_id, { key: `k/${session.id}/${i}`, revision: 1, binding });
    }
    return session;
  };
  return { control, access, connect, ended, close: () => access.close() };
}

const kindOf = (credential: Credential | undefined) => credential?.kind;

describe("admitting agents", () => {
  it("takes bootstrap tokens and registry tokens, and tells them apart", async () => {
    const { control, access, close } = await setup();
    const { token, record } = await control.createAuthtoken({ acl: ["bind:foo.internal"] });
    expect(kindOf(access.admit("boot"))).toBe("bootstrap");
    expect(access.admit(token)).toEqual({ kind: "authtoken", token: record });
    expect(access.admit("unknown")).toBeUndefined();
    expect(access.admit("")).toBeUndefined();
    await control.revokeAuthtoken(record.id);
    expect(access.admit(token)).toBeUndefined();
    await close();
  });

  it("gives an unknown token a bootstrap token's rights under --allow-any-token, and a registry token its own", async () => {
    const { control, access, close } = await setup({ allowAnyToken: true });
    const { token } = await control.createAuthtoken({});
    expect(kindOf(access.admit("anything"))).toBe("bootstrap");
    expect(kindOf(access.admit(token))).toBe("authtoken");
    await close();
  });

  it("asks agents with other tokens to come back while the registry's tokens are loading", async () => {
    const silent: AccessSource = { watchAccess: () => ({ ready: () => new Promise(() => undefined), close: () => undefined }), close: async () => undefined };
    const loading = new AccessControl({ bootstrapTokens: ["boot"], allowAnyToken: false, source: silent, sessions: () => [], pickedFor: () => false, logger: silentLogger() });
    void loading.start(); // never ready; the edge bounds that wait and fails to start
    expect(kindOf(loading.admit("boot"))).toBe("bootstrap");
    expect(() => loading.admit("onr_whatever")).toThrow(expect.objectContaining({ code: ErrorCode.RegistryUnavailable }));
  });
});

describe("binding", () => {
  it("refuses a registry token a host its ACL does not allow, and a bootstrap token a reserved one", async () => {
    const { control, access, connect, close } = await setup();
    const { token } = await control.createAuthtoken({ acl: ["bind:foo.internal", "bind:*.example.com"] });
    await control.reserveDomain({ name: "*.example.com" });
    const agent = connect(token);
    const boot = connect("boot");
    const bind = (session: AgentSession, url: string, picked = false) => () => access.authorize(session, "bind_x", parseEndpointUrl(url), picked);
    expect(bind(agent, "https://foo.internal")).not.toThrow();
    expect(bind(agent, "https://bar.internal")).toThrow(expect.objectContaining({ code: ErrorCode.BindDenied, message: expect.stringContaining("add bind:bar.internal or bind:*.internal") }));
    expect(bind(agent, "http://app.example.com")).not.toThrow();
    expect(bind(agent, "http://rnd123.localhost", true)).not.toThrow();
    expect(bind(agent, "http://rnd123.localhost")).not.toThrow(); // named by the agent, but picked for this bind
    expect(bind(boot, "https://bar.internal")).not.toThrow();
    expect(bind(boot, "http://app.example.com")).toThrow(expect.objectContaining({ code: ErrorCode.BindDenied, message: expect.stringContaining("reserved domain *.example.com") }));
    await close();
  });
});

describe("revocation", () => {
  it("ends every session of a revoked token at once, and no other", async () => {
    const { control, connect, ended, close } = await setup();
    const revoked = await control.createAuthtoken({ acl: ["bind:foo.internal"] });
    const kept = await control.createAuthtoken({ acl: ["bind:foo.internal"] });
    const [a, b] = [connect(revoked.token, "https://foo.internal"), connect(revoked.token)];
    const [other, boot] = [connect(kept.token, "https://foo.internal"), connect("boot", "https://foo.internal")];
    await control.revokeAuthtoken(revoked.record.id);
    for (const session of [a, b]) {
      expect(session.ended).toBe(true);
      expect(ended.get(session)).toMatchObject({ code: ErrorCode.AuthFailed, message: `authtoken revoked: ${revoked.record.id} was deleted from the registry` });
    }
    expect([other.ended, boot.ended]).toEqual([false, false]);
    await close();
  });

  it("ends a session whose bind its token's new ACL no longer allows, keeping the others and random URLs", async () => {
    const { control, connect, ended, close } = await setup();
    const { token, record } = await control.createAuthtoken({ acl: ["bind:foo.internal", "bind:bar.internal"] });
    const foo = connect(token, "https://foo.internal");
    const bar = connect(token, "https://bar.internal", "http://rnd123.localhost");
    const random = connect(token, "http://rnd456.localhost");
    await control.updateAuthtoken(record.id, { acl: ["bind:bar.internal"] });
    expect(foo.ended).toBe(true);
    expect(ended.get(foo)).toMatchObject({ code: ErrorCode.BindDenied, message: expect.stringMatching(/^binding https:\/\/foo\.internal is denied: no rule allows binding foo\.internal/) });
    expect([bar.ended, random.ended]).toEqual([false, false]);
    // The sessions left hold the token's new record: the next bind is judged by it.
    expect(bar.credential).toEqual({ kind: "authtoken", token: { ...record, acl: ["bind:bar.internal"] } });
    await close();
  });

  it("ends sessions holding a host that is reserved now, unless their token's ACL allows it", async () => {
    const { control, connect, ended, close } = await setup();
    const allowed = await control.createAuthtoken({ acl: ["bind:app.example.com"] });
    const boot = connect("boot", "http://app.example.com");
    const owner = connect(allowed.token, "http://app.example.com");
    const elsewhere = connect("boot", "http://app.example.org");
    await control.reserveDomain({ name: "example.com" });
    expect(ended.get(boot)).toMatchObject({ code: ErrorCode.BindDenied, message: expect.stringContaining("reserved domain example.com") });
    expect([owner.ended, elsewhere.ended]).toEqual([false, false]);
    await control.releaseDomain("example.com");
    expect([owner.ended, elsewhere.ended]).toEqual([false, false]);
    await close();
  });

  it("judges every session again when the watch starts over, ending those of tokens gone meanwhile", async () => {
    let emit: (event: AccessEvent) => void = () => undefined;
    const source: AccessSource = {
      watchAccess(handler) {
        emit = handler;
        handler({ kind: "reset", snapshot: { revision: 1, authtokens: [], domains: [] } });
        return { ready: async () => undefined, close: () => undefined };
      },
      close: async () => undefined,
    };
    const { control, access, connect, ended } = await setup({ source });
    const kept = await control.createAuthtoken({ acl: ["bind:foo.internal"] });
    const gone = await control.createAuthtoken({ acl: ["bind:foo.internal"] });
    const listed = [kept, gone].map(({ record }, i) => ({ key: authtokenKey(record.id), revision: 2 + i, authtoken: record }));
    emit({ kind: "reset", snapshot: { revision: 3, authtokens: listed, domains: [] } });
    expect(access.index.authtokenCount).toBe(2);
    const [a, b] = [connect(kept.token, "https://foo.internal"), connect(gone.token, "https://foo.internal")];
    emit({ kind: "reset", snapshot: { revision: 9, authtokens: [listed[0]!], domains: [] } });
    expect(a.ended).toBe(false);
    expect(access.admit(gone.token)).toBeUndefined();
    expect(ended.get(b)).toMatchObject({ code: ErrorCode.AuthFailed });
  });
});
