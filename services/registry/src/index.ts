export { createRegistryApi } from "./registry-api.js";
export type { RegistryApi } from "./registry-api.js";
export { startRegistryApiServer } from "./server.js";
export type { RegistryApiServer, RegistryApiServerOptions } from "./server.js";
export { resolveRegistryApiOptions } from "./options.js";
export type { RegistryApiOptions, ResolvedRegistryApiOptions } from "./options.js";
export { openApiDocument } from "./openapi.js";
export type { ErrorBody } from "./http-reply.js";
