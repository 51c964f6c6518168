// The module's public face: what the rest of the product uses of it (docs/architecture.md, "The kit").
export { AuthError, type AuthFailureReason } from "./auth-error.js";
export { parseBearer } from "./bearer.js";
export { authenticateBearer, type BearerAuthOptions, isOutage } from "./bearer-auth.js";
export { insufficientScopeChallenge, invalidTokenChallenge, missingTokenChallenge } from "./challenge.js";
export { createClientCredentials } from "./client-credentials.js";
export {
  type Actor,
  actingAgent,
  actorChain,
  DEV_ANONYMOUS_PRINCIPAL,
  describeChain,
  hasScopes,
  type Principal,
} from "./principal.js";
export {
  type ProtectedResourceMetadata,
  protectedResourceMetadata,
  protectedResourceMetadataPaths,
  protectedResourceMetadataUrl,
  sendProtectedResourceMetadata,
} from "./protected-resource.js";
export { createRemoteKeySet } from "./remote-key-set.js";
export { createRemovedKeys, type RemovedKeys } from "./removed-keys.js";
export { RenewingTokenCache } from "./renewing-token-cache.js";
export {
  SERVICE_AUTHORIZATION_HEADER,
  SERVICE_IDS,
  type ServiceCaller,
  type ServiceCredentials,
} from "./service-identity.js";
export { type ClientSecret, requestToken, TokenEndpointError } from "./token-request.js";
export {
  createServiceTokenVerifier,
  createTokenVerifier,
  type ServiceTokenVerifier,
  type TokenVerifier,
} from "./token-verifier.js";
