export { DATA_MAGIC, RELAY_MAGIC, FLAG_END_STREAM, FrameDecoder, FrameType, MAX_DATA_CHUNK, encodeFrame } from "./frame.js";
export type { FrameHandler } from "./frame.js";
export { ReceiveWindow } from "./flow-control.js";
export { MuxConnection } from "./mux-connection.js";
export type { MuxConnectionEvents, MuxHandshake } from "./mux-connection.js";
export { MuxStream } from "./mux-stream.js";
export type { StreamHandler } from "./mux-stream.js";
export { resolveMuxOptions } from "./options.js";
export type { MuxOptions, ResolvedMuxOptions } from "./options.js";
export { decodeDataHello, encodeDataHello, forwardableHeaders, rawHeader } from "./http-heads.js";
export {
  decodeRequestHead,
  decodeResponseHead,
  decodeTrailers,
  encodeRequestHead,
  encodeResponseHead,
  encodeTrailers,
} from "./head-codec.js";
export type { RequestHeadFields, ResponseHeadFields } from "./head-codec.js";
export { bridgeSocket, creditedWriter, spliceStreams } from "./socket-bridge.js";
