import { create } from "@bufbuild/protobuf";
import { Metadata, Server, ServerCredentials, status, type ServerDuplexStream } from "@grpc/grpc-js";
import { ErrorCode, OnrampError } from "@onramp/errors";
import { DATA_MAGIC, decodeDataHello, decodeResponseHead, encodeRequestHead, MuxConnection } from "@onramp/mux";
import {
  AgentService,
  BindResultSchema,
  ConnectResponseSchema,
  DrainSchema,
  EdgeCommandSchema,
  ERROR_CODE_METADATA,
  ErrorDetailSchema,
  RETRY_AFTER_METADATA,
  UnbindResultSchema,
  WelcomeSchema,
  grpcServiceDefinition,
  type Bind,
  type ConnectRequest,
  type ConnectResponse,
  type Hello,
  type UpstreamHealth,
} from "@onramp/proto";
import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import { createServer, type AddressInfo, type Server as NetServer, type Socket } from "node:net";

/**
 * A stand-in edge for this package's tests (not exported from the package): the agent port of
 * services/edge cut down to what the agent's side of the protocol needs. gRPC Connect answers
 * Hello with Welcome and Bind with BindResult, and records UpstreamHealth reports; data
 * connections start with DATA_MAGIC and a mux HELLO the edge answers. Hooks refuse sessions and
 * binds; `drain`, `endSession` and `kill` play an edge going away. The real edge is exercised by
 * the e2e tests.
 */

export interface FakeEdgeOptions {
  /** Port to listen on, e.g. to come back at the address of a killed edge. Default: random. */
  port?: number;
  edgeId?: string;
  region?: string;
  /** Other edges, as Welcome names them; read at each Hello. */
  welcomeEdges?: string[];
  /** Other workers of this edge, as Welcome names them (`siblings`); read at each Hello. */
  welcomeSiblings?: string[];
  /**
   * A code refuses the session with that error (as a gRPC status with `onramp-error-code`), and
   * `retryAfterMs` with it says when to ask again (`onramp-retry-after-ms`), as an edge whose
   * workers are starting does.
   */
  hello?: (hello: Hello) => ErrorCode | { code: ErrorCode; retryAfterMs: number } | undefined;
  /** A code refuses the bind with that error. */
  bind?: (bind: Bind, session: FakeSession) => ErrorCode | undefined;
}

export interface FakeSession {
  readonly id: string;
  readonly agentId: string;
  /** bind id → the bind and the URL it got. */
  readonly binds: Map<string, { bind: Bind; url: string }>;
  /** Every Bind received, in order, refused or not. */
  readonly bindLog: Bind[];
  readonly unbinds: string[];
  /** Every UpstreamHealth received, in order. */
  readonly health: UpstreamHealth[];
  connection: MuxConnection | undefined;
  ended: boolean;
  endedAt: number;
}

interface Live {
  session: FakeSession;
  call: ServerDuplexStream<ConnectRequest, ConnectResponse>;
  dataToken: Buffer;
}

export class FakeEdge {
  /** Every session this edge has had, in order. */
  readonly sessions: FakeSession[] = [];
  welcomeEdges: string[];
  welcomeSiblings: string[];
  private readonly live = new Map<string, Live>();
  private readonly sockets = new Set<Socket>();
  private readonly changes = new EventEmitter();
  private readonly grpc = new Server();
  private readonly server: NetServer;
  private nextId = 1;
  private listenPort = 0;

  private constructor(private readonly options: FakeEdgeOptions) {
    this.welcomeEdges = options.welcomeEdges ?? [];
    this.welcomeSiblings = options.welcomeSiblings ?? [];
    this.changes.setMaxListeners(0);
    this.grpc.addService(grpcServiceDefinition(AgentService), { connect: (call: ServerDuplexStream<ConnectRequest, ConnectResponse>) => this.connect(call) });
    const injector = this.grpc.createConnectionInjector(ServerCredentials.createInsecure());
    this.server = createServer((socket) => {
      this.sockets.add(socket);
      socket.on("close", () => this.sockets.delete(socket));
      socket.on("error", () => undefined);
      // As services/edge/src/agent-listener.ts: the first bytes tell data from gRPC.
      let buffered = Buffer.alloc(0);
      const sniff = (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        if (buffered.length < DATA_MAGIC.length) return;
        socket.off("data", sniff);
        socket.pause();
        const isData = buffered.subarray(0, DATA_MAGIC.length).equals(DATA_MAGIC);
        const rest = isData ? buffered.subarray(DATA_MAGIC.length) : buffered;
        if (rest.length > 0) socket.unshift(rest);
        if (!isData) return injector.injectConnection(socket);
        this.acceptData(socket);
        socket.resume();
      };
      socket.on("data", sniff);
    });
  }

  static async start(options: FakeEdgeOptions = {}): Promise<FakeEdge> {
    const edge = new FakeEdge(options);
    await new Promise<void>((resolve, reject) => {
      edge.server.once("error", reject);
      edge.server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
    });
    edge.listenPort = (edge.server.address() as AddressInfo).port;
    return edge;
  }

  /** host:port, also after `kill()`. */
  get address(): string {
    return `127.0.0.1:${this.listenPort}`;
  }

  get port(): number {
    return this.listenPort;
  }

  /** Sessions not ended yet. */
  liveSessions(): FakeSession[] {
    return this.sessions.filter((s) => !s.ended);
  }

  /** Resolves once `condition` holds, checked on every change here; rejects naming `what` after `timeoutMs`. */
  until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!condition()) return;
        clearTimeout(timer);
        this.changes.off("change", check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.changes.off("change", check);
        reject(new Error(`fake edge ${this.address}: timed out waiting for ${what}`));
      }, timeoutMs);
      this.changes.on("change", check);
      check();
    });
  }

  /** Resolves with the first live session that has a data connection and carries `n` binds. */
  async boundSession(n = 1): Promise<FakeSession> {
    const pick = () => this.liveSessions().find((s) => s.connection && s.binds.size >= n);
    await this.until(() => pick() !== undefined, `a session with ${n} bind(s)`);
    return pick()!;
  }

  /** Sends the edge's drain command on a session. */
  drain(session: FakeSession, reason = "edge shutting down"): void {
    this.send(session, { case: "command", value: create(EdgeCommandSchema, { cmd: { case: "drain", value: create(DrainSchema, { reason }) } }) });
  }

  /** Ends a session's control call cleanly, as an edge would after draining. */
  endSession(session: FakeSession): void {
    const live = this.live.get(session.id);
    if (live && !live.call.writableEnded) live.call.end();
  }

  /** Sends a GET for `bindId` to the agent over the session's data connection. */
  request(session: FakeSession, bindId: string, path = "/"): Promise<{ status: number; body: string }> {
    const connection = session.connection;
    if (!connection) return Promise.reject(new Error(`session ${session.id} has no data connection`));
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let statusCode = 0;
      const done = () => resolve({ status: statusCode, body: Buffer.concat(chunks).toString() });
      const stream = connection.openStream(encodeRequestHead({ method: "GET", path, headers: ["host", "app.fake.test"], bindId }), true, {
        onHead: (payload, end) => {
          const head = decodeResponseHead(payload);
          statusCode = head.status;
          chunks.push(Buffer.from(head.body));
          if (end) done();
        },
        onData: (chunk) => {
          chunks.push(chunk);
          stream.consumed(chunk.length);
        },
        onEnd: done,
        onReset: (code, message) => reject(new OnrampError(code, message)),
      });
    });
  }

  /** Dies: stops listening and drops every connection at once, like a crashed edge. */
  async kill(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    this.grpc.forceShutdown();
    for (const live of this.live.values()) this.markEnded(live.session);
    await closed;
  }

  private connect(call: ServerDuplexStream<ConnectRequest, ConnectResponse>): void {
    let live: Live | undefined;
    call.on("data", (message: ConnectRequest) => {
      const msg = message.msg;
      if (!live) {
        if (msg.case !== "hello") return this.fail(call, ErrorCode.ProtocolError, "the first message must be hello");
        const refused = this.options.hello?.(msg.value);
        if (typeof refused === "string") return this.fail(call, refused, `refused by the fake edge: ${refused}`);
        if (refused) return this.fail(call, refused.code, `refused by the fake edge: ${refused.code}`, refused.retryAfterMs);
        const session: FakeSession = { id: `sess_${this.nextId++}`, agentId: msg.value.agentId, binds: new Map(), bindLog: [], unbinds: [], health: [], connection: undefined, ended: false, endedAt: 0 };
        live = { session, call, dataToken: randomBytes(16) };
        this.live.set(session.id, live);
        this.sessions.push(session);
        const welcome = create(WelcomeSchema, {
          sessionId: session.id,
          edgeId: this.options.edgeId ?? `edge_${this.port}`,
          region: this.options.region ?? "test",
          heartbeatIntervalMs: 60_000,
          edges: this.welcomeEdges,
          siblings: this.welcomeSiblings,
          dataToken: live.dataToken,
          dataConnections: 1,
        });
        this.send(session, { case: "welcome", value: welcome });
        return this.changed();
      }
      const session = live.session;
      if (msg.case === "bind") this.bind(session, msg.value);
      else if (msg.case === "upstreamHealth") {
        session.health.push(msg.value);
        this.changed();
      } else if (msg.case === "unbind") {
        session.binds.delete(msg.value.bindId);
        session.unbinds.push(msg.value.bindId);
        this.send(session, { case: "unbindResult", value: create(UnbindResultSchema, { bindId: msg.value.bindId }) });
        this.changed();
      }
    });
    const finish = () => {
      if (live) this.markEnded(live.session);
    };
    for (const event of ["end", "cancelled", "error", "close"]) call.on(event, finish);
  }

  private bind(session: FakeSession, bind: Bind): void {
    session.bindLog.push(bind);
    const refused = this.options.bind?.(bind, session);
    if (refused) {
      const error = create(ErrorDetailSchema, { code: refused, message: `refused by the fake edge: ${refused}` });
      this.send(session, { case: "bindResult", value: create(BindResultSchema, { bindId: bind.bindId, error }) });
    } else {
      const url = bind.url || `http://${randomBytes(5).toString("hex")}.fake.test`;
      session.binds.set(bind.bindId, { bind, url });
      this.send(session, { case: "bindResult", value: create(BindResultSchema, { bindId: bind.bindId, endpointId: `ep_${url}`, url }) });
    }
    this.changed();
  }

  private acceptData(socket: Socket): void {
    const connection = new MuxConnection(socket, true);
    connection.events.onHello = (payload) => {
      connection.events.onHello = undefined;
      const hello = decodeDataHello(payload);
      const live = this.live.get(hello.sessionId);
      if (!live || live.session.ended || !live.dataToken.equals(Buffer.from(hello.dataToken))) return connection.destroy(new Error("data hello refused"));
      connection.sendHello(new Uint8Array(0));
      live.session.connection = connection;
      // As the real edge: a session lives and dies with its data connections.
      void connection.closed().then(() => {
        this.endSession(live.session);
        this.markEnded(live.session);
      });
      this.changed();
    };
  }

  private send(session: FakeSession, msg: ConnectResponse["msg"]): void {
    const live = this.live.get(session.id);
    if (live && !live.call.writableEnded) live.call.write(create(ConnectResponseSchema, { msg }));
  }

  private fail(call: ServerDuplexStream<ConnectRequest, ConnectResponse>, code: ErrorCode, details: string, retryAfterMs?: number): void {
    const metadata = new Metadata();
    metadata.set(ERROR_CODE_METADATA, code);
    if (retryAfterMs !== undefined) metadata.set(RETRY_AFTER_METADATA, String(retryAfterMs));
    call.emit("error", { code: code === ErrorCode.AuthFailed ? status.UNAUTHENTICATED : status.INTERNAL, details, metadata });
  }

  private markEnded(session: FakeSession): void {
    if (session.ended) return;
    session.ended = true;
    session.endedAt = performance.now();
    this.live.delete(session.id);
    session.connection?.destroy(undefined);
    this.changed();
  }

  private changed(): void {
    this.changes.emit("change");
  }
}
