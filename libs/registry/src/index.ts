export { createMemoryRegistry, MemoryRegistryStore } from "./memory-registry.js";
export { createEtcdRegistry } from "./etcd-registry.js";
export { resolveEtcdRegistryOptions } from "./etcd-options.js";
export type { EtcdRegistryOptions, RegistryLogger, ResolvedEtcdRegistryOptions } from "./etcd-options.js";
export { bindConflict, cloudEndpointConflict } from "./conflicts.js";
export {
  AUTHTOKENS,
  BINDINGS,
  CLOUD_ENDPOINTS,
  DOMAINS,
  EDGES,
  PREFIX,
  SESSIONS,
  bindingKey,
  bindingMode,
  cloudEndpointKey,
  compatibleRange,
  edgeKey,
  hostPrefix,
  isValidId,
  policyHash,
  prefixEnd,
  sessionKey,
} from "./keys.js";
export type { BindingClaim, Registry, RegistryEvent, RegistryWatch } from "./registry.js";
export type {
  BindingRecord,
  CloudEndpointRecord,
  EdgeRecord,
  RegistrySnapshot,
  SessionRecord,
  StoredBinding,
  StoredCloudEndpoint,
  StoredEdge,
} from "./records.js";
