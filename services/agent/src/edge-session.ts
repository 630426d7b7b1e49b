import { create } from "@bufbuild/protobuf";
import { Client, Metadata, status, type ClientDuplexStream, type ServiceError } from "@grpc/grpc-js";
import { ErrorCode, OnrampError, parseErrorCode } from "@onramp/errors";
import { DATA_MAGIC, decodeRequestHead, encodeDataHello, MuxConnection, type MuxStream } from "@onramp/mux";
import {
  AgentService,
  BIND_POLICY_SOURCE,
  BindSchema,
  ConnectRequestSchema,
  HeartbeatSchema,
  HelloSchema,
  UnbindSchema,
  UpstreamHealthSchema,
  UpstreamSchema,
  ERROR_CODE_METADATA,
  RETRY_AFTER_METADATA,
  grpcServiceDefinition,
  type BindResult,
  type ConnectRequest,
  type ConnectResponse,
  type Welcome,
} from "@onramp/proto";
import { hostname } from "node:os";
import { connectionError, ConnectionFailure, formatMs, transportFailure } from "./connection-problem.js";
import { connectToEdge, edgeCredentials } from "./edge-tls.js";
import { forwardRequest } from "./forward-request.js";
import { forwardUpgrade } from "./forward-upgrade.js";
import type { HealthState } from "./health-check.js";
import type { ResolvedAgentOptions } from "./options.js";
import type { Upstream } from "./upstream.js";

const definition = grpcServiceDefinition(AgentService).connect!;
export const AGENT_VERSION = "0.1.0";

/**
 * gRPC keepalive: ping every 10 s and give up 5 s after an unanswered ping, so a dead edge is
 * noticed in seconds, not the minutes TCP alone would take. Each agent keeps its own connection.
 */
const GRPC_CLIENT_OPTIONS = {
  "grpc.keepalive_time_ms": 10_000,
  "grpc.keepalive_timeout_ms": 5_000,
  "grpc.keepalive_permit_without_calls": 1,
  "grpc.use_local_subchannel_pool": 1,
};

export interface BindSpec {
  bindId: string;
  url: string;
  poolingEnabled: boolean;
  weight: number;
  trafficPolicy: string;
  /** Where the policy came from, for the edge's error positions; "" when unknown. */
  trafficPolicySource: string;
  upstream: Upstream;
  /** BindOptions.inspect: may the inspector record this endpoint's requests. */
  inspect: boolean;
}

/** One live session with one edge: the control call, the data connections and request forwarding. */
export class EdgeSession {
  welcome!: Welcome;
  /**
   * The latest round-trip time to the edge, in ms; undefined until measured. The agent measures it
   * once right after the Welcome (a Heartbeat the edge echoes), then takes the edge's own figure
   * from each of its heartbeats (every `heartbeat_interval_ms`, 10 s by default), so it is there
   * from the start without the agent pinging on a timer of its own.
   */
  rttMs: number | undefined;
  private client: Client;
  private call!: ClientDuplexStream<ConnectRequest, ConnectResponse>;
  private readonly connections: MuxConnection[] = [];
  private readonly pendingBinds = new Map<string, (result: BindResult) => void>();
  private readonly pendingUnbinds = new Map<string, () => void>();
  private endedFlag = false;
  private drainingFlag = false;
  private readonly endedPromise: Promise<OnrampError>;
  private resolveEnded!: (error: OnrampError) => void;
  /** Why the latest TLS handshake of the control channel failed, in Onramp's words; grpc-js keeps only text. */
  private tlsFailure: OnrampError | undefined;

  constructor(
    readonly edge: string,
    private readonly options: ResolvedAgentOptions,
    private readonly bindFor: (bindId: string) => BindSpec | undefined,
  ) {
    this.client = new Client(edge, edgeCredentials(edge, options.tls, (error) => (this.tlsFailure = error)), GRPC_CLIENT_OPTIONS);
    this.endedPromise = new Promise((resolve) => (this.resolveEnded = resolve));
  }

  /** Resolves with why the session ended. */
  ended(): Promise<OnrampError> {
    return this.endedPromise;
  }

  get isEnded(): boolean {
    return this.endedFlag;
  }

  /** True once draining began: in-flight requests finish here, new binds and requests go elsewhere. */
  get isDraining(): boolean {
    return this.drainingFlag;
  }

  /** Hello → Welcome → data connections. Rejects with AUTH_FAILED and other OnrampErrors. */
  async open(): Promise<void> {
    const o = this.options;
    const welcome = new Promise<Welcome>((resolve, reject) => {
      const timer = setTimeout(() => {
        const within = formatMs(o.handshakeTimeoutMs);
        reject(connectionError(ErrorCode.ProtocolError, `no welcome from ${this.edge} within ${within}`, new ConnectionFailure("timeout", `no answer within ${within}`)));
      }, o.handshakeTimeoutMs);
      this.call = this.client.makeBidiStreamRequest(definition.path, definition.requestSerialize, definition.responseDeserialize, new Metadata());
      this.call.on("data", (message: ConnectResponse) => {
        if (message.msg.case === "welcome") {
          clearTimeout(timer);
          resolve(message.msg.value);
          return;
        }
        this.onControl(message);
      });
      this.call.on("error", (err: ServiceError) => {
        clearTimeout(timer);
        const error = this.tlsFailure && err.code === status.UNAVAILABLE ? this.tlsFailure : fromServiceError(err, this.edge, o.authtoken !== "");
        reject(error);
        this.end(error);
      });
      this.call.on("end", () => {
        const failure = new ConnectionFailure("edge-error", "the edge ended the session");
        this.end(connectionError(ErrorCode.AgentDisconnected, `the edge ${this.edge} ended the session`, failure));
      });
    });
    this.send({
      case: "hello",
      value: create(HelloSchema, { authtoken: o.authtoken, agentId: o.agentId, agentVersion: AGENT_VERSION, hostname: hostname() }),
    });
    this.welcome = await welcome;
    this.send({ case: "heartbeat", value: create(HeartbeatSchema, { seq: 1n, sentAtUs: nowUs() }) });
    const count = o.dataConnections ?? (this.welcome.dataConnections || 1);
    const opened = Promise.all(Array.from({ length: count }, () => this.openDataConnection()));
    opened.catch(() => undefined); // when the session ends first, that is the error reported
    await Promise.race([opened, this.ended().then((e) => Promise.reject(e))]);
  }

  async bind(spec: BindSpec): Promise<BindResult> {
    const result = new Promise<BindResult>((resolve) => this.pendingBinds.set(spec.bindId, resolve));
    this.send({
      case: "bind",
      value: create(BindSchema, {
        bindId: spec.bindId,
        url: spec.url,
        poolingEnabled: spec.poolingEnabled,
        weight: spec.weight,
        trafficPolicy: spec.trafficPolicy,
        metadata: spec.trafficPolicySource ? { [BIND_POLICY_SOURCE]: spec.trafficPolicySource } : {},
        upstream: create(UpstreamSchema, { url: spec.upstream.url, protocol: "http" }),
      }),
    });
    return await Promise.race([result, this.ended().then((e) => Promise.reject(e))]);
  }

  async unbind(bindId: string): Promise<void> {
    const done = new Promise<void>((resolve) => this.pendingUnbinds.set(bindId, resolve));
    this.send({ case: "unbind", value: create(UnbindSchema, { bindId }) });
    await Promise.race([done, this.ended().then(() => undefined)]);
  }

  /** Tells the edge whether a bound endpoint's upstream passes its health checks; the edge assumes it does until told. */
  reportHealth(bindId: string, health: HealthState): void {
    this.send({ case: "upstreamHealth", value: create(UpstreamHealthSchema, { bindId, healthy: health.healthy, detail: health.detail }) });
  }

  /**
   * Takes no new requests, waits for in-flight ones to finish (up to `timeoutMs`), then ends the
   * session. The edge answers the GOAWAY on each data connection; requests it sent before it heard
   * it are still served, so none is lost in between.
   */
  async drain(timeoutMs: number, reason = new OnrampError(ErrorCode.AgentDisconnected, "agent shut down")): Promise<void> {
    this.drainingFlag = true;
    for (const c of this.connections) c.goAway();
    const deadline = performance.now() + timeoutMs;
    while (!this.connections.every((c) => c.quiet || c.isClosed) && !this.endedFlag && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, Math.min(20, Math.max(1, deadline - performance.now()))));
    }
    this.end(reason);
  }

  end(error: OnrampError): void {
    if (this.endedFlag) return;
    this.endedFlag = true;
    if (this.call && !this.call.writableEnded) this.call.end();
    this.call?.cancel();
    for (const c of this.connections) c.destroy(undefined);
    this.client.close();
    this.resolveEnded(error);
  }

  private send(msg: ConnectRequest["msg"]): void {
    if (!this.endedFlag) this.call.write(create(ConnectRequestSchema, { msg }));
  }

  private onControl(message: ConnectResponse): void {
    switch (message.msg.case) {
      case "bindResult": {
        const resolve = this.pendingBinds.get(message.msg.value.bindId);
        this.pendingBinds.delete(message.msg.value.bindId);
        resolve?.(message.msg.value);
        return;
      }
      case "unbindResult": {
        const resolve = this.pendingUnbinds.get(message.msg.value.bindId);
        this.pendingUnbinds.delete(message.msg.value.bindId);
        resolve?.();
        return;
      }
      case "heartbeat":
        // 0: the edge has no measurement yet (its first heartbeat).
        if (message.msg.value.rttUs > 0n) this.rttMs = Number(message.msg.value.rttUs) / 1000;
        this.send({ case: "heartbeatAck", value: message.msg.value });
        return;
      case "heartbeatAck":
        // The echo of the agent's own heartbeat, sent after the Welcome: the edge keeps sentAtUs as is.
        this.rttMs = Math.max(0, Number(nowUs() - message.msg.value.sentAtUs) / 1000);
        return;
      case "command": {
        const cmd = message.msg.value.cmd;
        if (cmd.case === "drain" || cmd.case === "reconnect") {
          // The edge is going away: finish what runs here, then the link reconnects with backoff
          // while the agent's other sessions serve. A reconnect's `edge` is logged, not followed:
          // which edges the agent holds is decided by its list and by Welcome.
          const reason = cmd.value.reason || cmd.case;
          const elsewhere = cmd.case === "reconnect" ? cmd.value.edge : undefined;
          this.options.logger.info({ edge: this.edge, command: cmd.case, reason, elsewhere, drainTimeoutMs: this.options.drainTimeoutMs }, "edge asked the agent to go");
          const why = connectionError(ErrorCode.EdgeDraining, `the edge ${this.edge} asked the agent to drain (${reason})`, new ConnectionFailure("draining", reason));
          void this.drain(this.options.drainTimeoutMs, why);
        }
        return;
      }
      default:
        return;
    }
  }

  private async openDataConnection(): Promise<void> {
    const socket = await connectToEdge(this.edge, this.options.tls, "data connection");
    if (this.endedFlag) {
      socket.destroy();
      throw new OnrampError(ErrorCode.AgentDisconnected, "the session ended");
    }
    socket.write(DATA_MAGIC);
    // Both ends start streams with the window the edge announced, unless this agent sets its own.
    const mux = { initialStreamWindow: this.welcome.initialStreamWindow || undefined, ...this.options.mux };
    // "dial": the hello goes first and alone; the edge answers nothing before it.
    const connection = new MuxConnection(socket, false, {}, mux, "dial");
    const acked = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        const within = formatMs(this.options.handshakeTimeoutMs);
        const failure = new ConnectionFailure("timeout", `no answer on the data connection within ${within}`);
        reject(connectionError(ErrorCode.ProtocolError, `the edge did not accept the data connection within ${within}`, failure));
      }, this.options.handshakeTimeoutMs);
      connection.events.onHello = () => {
        clearTimeout(timer);
        connection.events.onHello = undefined;
        resolve();
      };
      void connection.closed().then(() => {
        clearTimeout(timer);
        reject(new OnrampError(ErrorCode.AgentDisconnected, "the edge refused the data connection"));
      });
    });
    connection.events.onStream = (stream, head, endStream) => this.onStream(stream, head, endStream);
    connection.sendHello(encodeDataHello({ sessionId: this.welcome.sessionId, dataToken: this.welcome.dataToken }));
    this.connections.push(connection);
    await acked;
    void connection.closed().then(() => {
      const failure = new ConnectionFailure("unreachable", "a data connection closed");
      this.end(connectionError(ErrorCode.AgentDisconnected, `a data connection to ${this.edge} closed`, failure));
    });
  }

  private onStream(stream: MuxStream, headBytes: Buffer, endStream: boolean): void {
    let head;
    try {
      head = decodeRequestHead(headBytes);
    } catch {
      stream.reset(ErrorCode.ProtocolError, "undecodable request head");
      return;
    }
    const bind = this.bindFor(head.bindId);
    if (!bind) {
      stream.reset(ErrorCode.EndpointOffline, "this agent no longer serves the endpoint");
      return;
    }
    if (head.upgrade) forwardUpgrade(stream, head, bind.upstream, this.options.upstreamTimeoutMs);
    else forwardRequest(stream, head, endStream, bind.upstream, this.options, { bindId: bind.bindId, url: bind.url, edge: this.edge, inspect: bind.inspect });
  }
}

/**
 * A failed control call as an OnrampError: the code the edge sent, or an AUTH_FAILED that says
 * whether a token was sent at all, or a connection failure in plain words (the grpc-js text,
 * "No connection established. Last error: …", stays in the cause for the debug log).
 */
function fromServiceError(err: ServiceError, edge: string, sentToken: boolean): OnrampError {
  const sent = err.metadata?.get(ERROR_CODE_METADATA)[0];
  const code = typeof sent === "string" ? parseErrorCode(sent) : undefined;
  if (code === ErrorCode.AuthFailed || (code === undefined && err.code === status.UNAUTHENTICATED)) {
    // A token taken away during the session: the edge's own words say by whom and when.
    if (/revoked/i.test(err.details)) return new OnrampError(ErrorCode.AuthFailed, `${err.details} (edge ${edge})`, { cause: err });
    const message = sentToken
      ? `authtoken rejected by the edge at ${edge}; check --authtoken, ONRAMP_AUTHTOKEN or the authtoken in your config`
      : `no authtoken given; the edge at ${edge} requires one: pass --authtoken, set ONRAMP_AUTHTOKEN, or run \`onramp config add-authtoken TOKEN\``;
    return new OnrampError(ErrorCode.AuthFailed, message, { cause: err });
  }
  if (code !== undefined) return new OnrampError(code, err.details, { cause: err, retryAfterMs: retryAfterOf(err) });
  const failure = transportFailure(err);
  return connectionError(ErrorCode.AgentDisconnected, `connection to the edge at ${edge} failed: ${failure.reason}`, failure);
}

/** The edge's "ask again in N ms" on a refusal, when it sent a sane one (up to a minute). */
function retryAfterOf(err: ServiceError): number | undefined {
  const sent = err.metadata?.get(RETRY_AFTER_METADATA)[0];
  const ms = typeof sent === "string" && /^\d{1,5}$/.test(sent) ? Number(sent) : NaN;
  return ms <= 60_000 ? ms : undefined;
}

/** Microseconds on this process's clock; only ever compared with itself (the edge echoes it back). */
function nowUs(): bigint {
  return BigInt(Math.round(performance.timeOrigin * 1000 + performance.now() * 1000));
}
