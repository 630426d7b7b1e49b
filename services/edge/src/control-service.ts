import { create } from "@bufbuild/protobuf";
import { Metadata, status, type ServerDuplexStream } from "@grpc/grpc-js";
import { ErrorCode, OnrampError } from "@onramp/errors";
import {
  BindResultSchema,
  ERROR_CODE_METADATA,
  ErrorDetailSchema,
  RETRY_AFTER_METADATA,
  UnbindResultSchema,
  WelcomeSchema,
  type Bind,
  type ConnectRequest,
  type ConnectResponse,
} from "@onramp/proto";
import type { Logger } from "@onramp/telemetry";
import { AgentSession, type ControlChannel } from "./agent-session.js";
import { authOf, type Credential } from "./bind-access.js";

export interface ControlServiceDeps {
  /** What the hello's authtoken proves, or undefined; throws a retryable OnrampError when it cannot tell yet. */
  admit(token: string): Credential | undefined;
  /** Binds an endpoint for the session; rejects with an OnrampError when refused. */
  bind(session: AgentSession, bind: Bind): Promise<{ endpointId: string; url: string; publicUrl: string }>;
  unbind(session: AgentSession, bindId: string): Promise<void>;
  /** The agent's health checks of a bind's upstream changed their verdict. */
  upstreamHealth(session: AgentSession, bindId: string, healthy: boolean, detail: string): void;
  addSession(session: AgentSession): void;
  removeSession(session: AgentSession): void;
  /** What the Welcome says, decided when the session starts (the mesh's other edges change). */
  welcome(): { edgeId: string; region: string; heartbeatIntervalMs: number; dataConnections: number; initialStreamWindow: number; edges: string[]; siblings: string[] };
  handshakeTimeoutMs: number;
  logger: Logger;
}

/** gRPC status for an Onramp error code; the code itself travels in trailing metadata. */
function grpcStatusOf(code: ErrorCode): status {
  switch (code) {
    case ErrorCode.AuthFailed:
      return status.UNAUTHENTICATED;
    case ErrorCode.InvalidUrl:
    case ErrorCode.InvalidArgument:
      return status.INVALID_ARGUMENT;
    case ErrorCode.BindConflict:
      return status.ALREADY_EXISTS;
    case ErrorCode.BindDenied:
      return status.PERMISSION_DENIED;
    case ErrorCode.EdgeDraining:
    case ErrorCode.AgentDisconnected:
    case ErrorCode.RegistryUnavailable:
      return status.UNAVAILABLE;
    default:
      return status.INTERNAL;
  }
}

function channelFor(call: ServerDuplexStream<ConnectRequest, ConnectResponse>): ControlChannel {
  let done = false;
  return {
    send: (message) => {
      if (!done && !call.writableEnded) call.write(message);
    },
    fail: (error) => {
      if (done) return;
      done = true;
      const metadata = new Metadata();
      metadata.set(ERROR_CODE_METADATA, error.code);
      if (error.retryAfterMs !== undefined) metadata.set(RETRY_AFTER_METADATA, String(Math.round(error.retryAfterMs)));
      call.emit("error", { code: grpcStatusOf(error.code), details: error.message, metadata });
    },
    end: () => {
      if (done) return;
      done = true;
      if (!call.writableEnded) call.end();
    },
  };
}

/** The AgentService.Connect handler: hello and auth, then binds, unbinds and heartbeats. */
export function createConnectHandler(deps: ControlServiceDeps) {
  return (call: ServerDuplexStream<ConnectRequest, ConnectResponse>): void => {
    const channel = channelFor(call);
    const peer = call.getPeer();
    let session: AgentSession | undefined;
    const helloTimer = setTimeout(
      () => channel.fail(new OnrampError(ErrorCode.ProtocolError, `no hello within ${deps.handshakeTimeoutMs} ms`)),
      deps.handshakeTimeoutMs,
    );

    call.on("data", (message: ConnectRequest) => {
      if (!session) {
        clearTimeout(helloTimer);
        if (message.msg.case !== "hello") {
          channel.fail(new OnrampError(ErrorCode.ProtocolError, "the first message of a session must be hello"));
          return;
        }
        const token = message.msg.value.authtoken;
        let credential: Credential | undefined;
        try {
          credential = deps.admit(token);
        } catch (err) {
          channel.fail(OnrampError.from(err, ErrorCode.Internal));
          return;
        }
        if (!credential) {
          const why = token
            ? "authtoken rejected by the edge; check --authtoken, ONRAMP_AUTHTOKEN or the authtoken in your config"
            : "no authtoken given, and this edge requires one: pass --authtoken, set ONRAMP_AUTHTOKEN, or run `onramp config add-authtoken TOKEN`";
          deps.logger.warn({ peer, token: token ? "rejected" : "missing" }, "agent refused: authtoken");
          channel.fail(new OnrampError(ErrorCode.AuthFailed, why));
          return;
        }
        session = new AgentSession(message.msg.value, credential, peer, channel, deps.logger, deps.removeSession);
        deps.addSession(session);
        const welcome = deps.welcome();
        session.send({
          case: "welcome",
          value: create(WelcomeSchema, { ...welcome, sessionId: session.id, dataToken: session.dataToken }),
        });
        session.startHeartbeats(welcome.heartbeatIntervalMs);
        deps.logger.info({ session: session.id, agent: session.agentId, auth: authOf(credential), peer }, "agent session started");
        return;
      }
      if (session.handleHeartbeat(message)) return;
      switch (message.msg.case) {
        case "bind":
          void handleBind(session, message.msg.value);
          return;
        case "unbind": {
          const bindId = message.msg.value.bindId;
          const s = session;
          void deps.unbind(s, bindId).finally(() => s.send({ case: "unbindResult", value: create(UnbindResultSchema, { bindId }) }));
          return;
        }
        case "upstreamHealth": {
          const { bindId, healthy, detail } = message.msg.value;
          deps.upstreamHealth(session, bindId, healthy, detail);
          return;
        }
        default:
          channel.fail(new OnrampError(ErrorCode.ProtocolError, `unexpected ${message.msg.case ?? "empty"} message`));
      }
    });

    const finish = () => {
      clearTimeout(helloTimer);
      session?.end();
    };
    call.on("end", finish);
    call.on("cancelled", finish);
    call.on("error", finish);
    call.on("close", finish);

    async function handleBind(s: AgentSession, bind: Bind): Promise<void> {
      try {
        // Agents open data connections before binding; wait briefly in case they race.
        await s.ready(deps.handshakeTimeoutMs);
        const { endpointId, url, publicUrl } = await deps.bind(s, bind);
        s.send({ case: "bindResult", value: create(BindResultSchema, { bindId: bind.bindId, endpointId, url, publicUrl }) });
      } catch (err) {
        const error = OnrampError.from(err, ErrorCode.Internal);
        s.send({
          case: "bindResult",
          value: create(BindResultSchema, {
            bindId: bind.bindId,
            error: create(ErrorDetailSchema, { code: error.code, message: error.message }),
          }),
        });
      }
    }
  };
}
