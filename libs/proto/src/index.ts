export { ERROR_CODE_METADATA, grpcServiceDefinition, RETRY_AFTER_METADATA } from "./grpc-service.js";
export {
  AgentService,
  BindResultSchema,
  BindSchema,
  ConnectRequestSchema,
  ConnectResponseSchema,
  DrainSchema,
  EdgeCommandSchema,
  ErrorDetailSchema,
  HeartbeatSchema,
  HelloSchema,
  ReconnectSchema,
  UnbindResultSchema,
  UnbindSchema,
  UpstreamHealthSchema,
  UpstreamSchema,
  WelcomeSchema,
} from "./gen/onramp/v1/agent_pb.js";
export type {
  Bind,
  BindResult,
  ConnectRequest,
  ConnectResponse,
  Drain,
  EdgeCommand,
  ErrorDetail,
  Heartbeat,
  Hello,
  Reconnect,
  Unbind,
  UnbindResult,
  Upstream,
  UpstreamHealth,
  Welcome,
} from "./gen/onramp/v1/agent_pb.js";
export {
  DataHelloSchema,
  RequestHeadSchema,
  ResponseHeadSchema,
  StreamResetSchema,
  TrailersSchema,
} from "./gen/onramp/v1/data_pb.js";
export type { DataHello, RequestHead, ResponseHead, StreamReset, Trailers } from "./gen/onramp/v1/data_pb.js";
export {
  BindingSnapshotSchema,
  EdgeHeartbeatSchema,
  MemberStatusSchema,
  MemberStatusUpdateSchema,
  MeshBindingSchema,
  PoolDeltaSchema,
  RateLimitCountSchema,
  RateLimitDeltaSchema,
  RelayHelloSchema,
} from "./gen/onramp/v1/mesh_pb.js";
export type { BindingSnapshot, EdgeHeartbeat, MemberStatusUpdate, MeshBinding, PoolDelta, RateLimitCount, RateLimitDelta, RelayHello } from "./gen/onramp/v1/mesh_pb.js";

/** `Bind.metadata` key naming where the agent's traffic policy came from (a file), for the edge's error positions. */
export const BIND_POLICY_SOURCE = "traffic_policy_source";
