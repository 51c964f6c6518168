// The module's public face: what the rest of the product uses of it (docs/architecture.md, "The kit").
export { callAttributes } from "./call-attributes.js";
export {
  type CallScope,
  currentCallScope,
  currentTelemetry,
  runInCallScope,
  runOutsideCall,
} from "./call-scope.js";
export type { CallerRules } from "./caller-policy.js";
export { createPropagationInterceptor } from "./client-interceptor.js";
export {
  kActingAgent,
  kCaller,
  kCredential,
  kPeerAddress,
  kPrincipal,
  kRequestId,
  kTrace,
} from "./context-keys.js";
export { forwardFrom, requirePrincipal } from "./handler-context.js";
export { joinHttpRequest } from "./http-request.js";
export {
  IDEMPOTENCY_META_KEY,
  isValidIdempotencyKey,
  MAX_IDEMPOTENCY_KEY_LENGTH,
} from "./idempotency-meta.js";
export { endSpan, type JoinedCall, joinCall, nodeHeader, outgoingCallHeaders } from "./join-call.js";
export {
  type AuthInterceptorOptions,
  createAuthGate,
  createAuthInterceptor,
  createCallContextInterceptor,
} from "./server-interceptors.js";
export { createServiceCredentialInterceptor } from "./service-credential-interceptor.js";
