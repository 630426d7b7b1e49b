import { create } from "@bufbuild/protobuf";
import { ErrorCode, OnrampError } from "@onramp/errors";
import type { MuxConnection } from "@onramp/mux";
import {
  ConnectResponseSchema,
  DrainSchema,
  EdgeCommandSchema,
  HeartbeatSchema,
  type ConnectRequest,
  type ConnectResponse,
  type Hello,
} from "@onramp/proto";
import type { BindingClaim } from "@onramp/registry";
import type { Logger } from "@onramp/telemetry";
import { randomBytes, randomUUID } from "node:crypto";
import type { Credential } from "./bind-access.js";

/** Where a session sends control messages; the gRPC call in production. */
export interface ControlChannel {
  send(message: ConnectResponse): void;
  /** Ends the call with an error status the agent can act on. */
  fail(error: OnrampError): void;
  end(): void;
}

/**
 * One connected agent: its control channel, its data connections and its binds. The session ends
 * when the control stream ends or any of its data connections dies; the agent then reconnects
 * and rebinds, which keeps the two halves from ever disagreeing about what is live.
 */
export class AgentSession {
  readonly id = `sess_${randomUUID()}`;
  readonly dataToken = randomBytes(32);
  readonly agentId: string;
  readonly connections: MuxConnection[] = [];
  /** bind id → its claim in the registry, for unbinding. */
  readonly binds = new Map<string, BindingClaim>();
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private heartbeatSeq = 0n;
  private rttUs = 0n;
  private endedFlag = false;
  private readyWaiters: Array<() => void> = [];

  constructor(
    hello: Hello,
    /**
     * What the agent's authtoken proved: decides what the session may bind. A registry token's
     * record is replaced here when the token is updated (access-control.ts).
     */
    public credential: Credential,
    readonly remoteAddress: string,
    private readonly control: ControlChannel,
    private readonly logger: Logger,
    private readonly onEnd: (session: AgentSession) => void,
  ) {
    this.agentId = hello.agentId || `agent_${randomUUID()}`;
  }

  get ended(): boolean {
    return this.endedFlag;
  }

  get rttMs(): number {
    return Number(this.rttUs) / 1000;
  }

  send(msg: ConnectResponse["msg"]): void {
    if (!this.endedFlag) this.control.send(create(ConnectResponseSchema, { msg }));
  }

  startHeartbeats(intervalMs: number): void {
    this.heartbeatTimer = setInterval(() => {
      this.send({
        case: "heartbeat",
        value: create(HeartbeatSchema, { seq: ++this.heartbeatSeq, sentAtUs: nowUs(), rttUs: this.rttUs }),
      });
    }, intervalMs);
    this.heartbeatTimer.unref();
  }

  /** Handles heartbeats; returns the message when it is something else for the caller. */
  handleHeartbeat(message: ConnectRequest): boolean {
    if (message.msg.case === "heartbeat") {
      this.send({ case: "heartbeatAck", value: message.msg.value });
      return true;
    }
    if (message.msg.case === "heartbeatAck") {
      this.rttUs = nowUs() - message.msg.value.sentAtUs;
      return true;
    }
    return false;
  }

  addConnection(connection: MuxConnection): void {
    this.connections.push(connection);
    connection.closed().then(() => this.end(new OnrampError(ErrorCode.AgentDisconnected, "a data connection closed")));
    for (const wake of this.readyWaiters.splice(0)) wake();
  }

  /** Resolves once at least one data connection is attached. */
  async ready(timeoutMs: number): Promise<void> {
    if (this.connections.length > 0) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new OnrampError(ErrorCode.ProtocolError, `no data connection within ${timeoutMs} ms`)), timeoutMs);
      this.readyWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /**
   * The data connection with the fewest streams in flight, or undefined when none takes new ones
   * (closing, or silent past its ping: the agent may be hung).
   */
  pickConnection(): MuxConnection | undefined {
    let best: MuxConnection | undefined;
    for (const c of this.connections) {
      if (c.acceptsNewStreams && !c.overdue && (!best || c.activeStreams < best.activeStreams)) best = c;
    }
    return best;
  }

  /** Requests in flight on the agent, from every edge (relayed ones pass through here too). */
  get load(): number {
    let n = 0;
    for (const c of this.connections) n += c.activeStreams;
    return n;
  }

  /** Ends the session: binds are removed by `onEnd`, data connections closed. */
  end(error?: OnrampError): void {
    if (this.endedFlag) return;
    this.endedFlag = true;
    clearInterval(this.heartbeatTimer);
    this.onEnd(this);
    if (error) {
      this.logger.info({ session: this.id, agent: this.agentId, reason: error.message }, "agent session ended");
      this.control.fail(error);
    } else {
      this.logger.info({ session: this.id, agent: this.agentId }, "agent session ended");
      this.control.end();
    }
    for (const c of this.connections) c.destroy(undefined);
  }

  /** Asks the agent to go elsewhere, then lets in-flight requests finish. */
  async drain(reason: string, timeoutMs: number): Promise<void> {
    const drain = create(DrainSchema, { reason });
    this.send({ case: "command", value: create(EdgeCommandSchema, { cmd: { case: "drain", value: drain } }) });
    await Promise.all(this.connections.map((c) => c.drain(timeoutMs)));
    this.end();
  }
}

function nowUs(): bigint {
  return BigInt(Math.round(performance.timeOrigin * 1000 + performance.now() * 1000));
}
