export { createMemoryRegistry, MemoryRegistryStore } from "./memory-registry.js";
export { createEtcdRegistry } from "./etcd-registry.js";
export { createChannelRegistry } from "./channel-registry.js";
export type { ChannelRegistryOptions } from "./channel-registry.js";
export { createChannelAccessSource } from "./channel-access-source.js";
export type { ChannelAccessSource } from "./channel-access-source.js";
export { hostRegistryOnChannel } from "./channel-registry-host.js";
export type { ChannelOptions } from "./channel-client.js";
export { ACCESS_TAG, REGISTRY_TAG, fromChannelError, taggedMessage, toChannelError } from "./process-channel.js";
export type { ChannelError, ProcessChannel } from "./process-channel.js";
export { createMemoryControlStore } from "./memory-control-store.js";
export { createEtcdControlStore } from "./etcd-control-store.js";
export { createMemoryCertificateStore } from "./certificate-store-memory.js";
export { createEtcdCertificateStore } from "./certificate-store-etcd.js";
export { ACME, ACME_ACCOUNTS, ACME_CERTIFICATES, ACME_CHALLENGES, ACME_LOCKS, acmeAccountKey, acmeChallengeKey, acmeLockKey, certificateKey } from "./certificate-store.js";
export type { AcmeAccountRecord, CertificateLock, CertificateStore, StoredCertificate } from "./certificate-store.js";
export { AccessIndex } from "./access-index.js";
export { API_KEY_SECRET_PREFIX, AUTHTOKEN_SECRET_PREFIX, hashSecret } from "./control-secrets.js";
export type {
  AccessEvent,
  AuthtokenChanges,
  ControlStore,
  CreatedApiKey,
  CreatedAuthtoken,
  NewApiKey,
  NewAuthtoken,
  NewReservedDomain,
  Page,
  PageRequest,
} from "./control-store.js";
export { resolveEtcdRegistryOptions } from "./etcd-options.js";
export type { EtcdRegistryOptions, RegistryLogger, ResolvedEtcdRegistryOptions } from "./etcd-options.js";
export { bindConflict, cloudEndpointConflict } from "./conflicts.js";
export {
  ACCESS,
  API_KEYS,
  AUTHTOKENS,
  BINDINGS,
  CLOUD_ENDPOINTS,
  DOMAINS,
  EDGES,
  PREFIX,
  SESSIONS,
  apiKeyKey,
  authtokenKey,
  bindingKey,
  bindingMode,
  cloudEndpointKey,
  compatibleRange,
  domainKey,
  edgeKey,
  hostPrefix,
  isValidId,
  policyHash,
  prefixEnd,
  sessionKey,
} from "./keys.js";
export type { BindingClaim, Registry, RegistryEvent, RegistryWatch } from "./registry.js";
export type {
  AccessSnapshot,
  ApiKeyRecord,
  AuthtokenRecord,
  BindingRecord,
  CloudEndpointRecord,
  EdgeRecord,
  RegistrySnapshot,
  ReservedDomainRecord,
  SessionRecord,
  StoredAuthtoken,
  StoredBinding,
  StoredCloudEndpoint,
  StoredEdge,
  StoredReservedDomain,
} from "./records.js";
export { allowsBind, parseAcl, parseAclRule, reservedBy } from "./acl.js";
export type { AclRule, BindDecision } from "./acl.js";
export { endpointIdOf, parseEndpointUrl } from "./endpoint-url.js";
export type { EndpointUrl } from "./endpoint-url.js";
