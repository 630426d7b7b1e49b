export { createEdge, Edge } from "./edge.js";
export type { EdgeAddresses } from "./edge.js";
export { resolveEdgeOptions, parseHostPort } from "./options.js";
export type { CloudEndpointConfig, EdgeOptions, HostPort, ResolvedEdgeOptions } from "./options.js";
export type { AccessSource } from "./access-control.js";
export { parseEndpointUrl } from "./endpoint-url.js";
export type { EndpointUrl } from "./endpoint-url.js";
export type { EndpointView } from "./admin-server.js";
