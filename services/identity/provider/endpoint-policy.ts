import type { LimitContext } from "./endpoint-policy/policy-context.js";
import { limitRegistration, type RegistrationLimitDeps } from "./endpoint-policy/registration-limits.js";
import {
  answerTokenRefusal,
  refuseTokenMethod,
  type TokenRefusalDeps,
} from "./endpoint-policy/token-refusals.js";
import { refuseForeignResource } from "./endpoint-policy/token-resource.js";
import { OAUTH_ROUTES } from "./provider-configuration.js";
import type { ResourceServers } from "./resource-servers.js";

/** Limits of open registration (docs/identity.md, "Client registration"). */
export const REGISTRATION_LIMITS = {
  perAddressPerHour: 20,
  maxClients: 10_000,
} as const;

export interface EndpointPolicyDeps extends RegistrationLimitDeps, TokenRefusalDeps {
  readonly resources: ResourceServers;
}

/**
 * The product's bounds around two of the provider's endpoints, as provider middleware:
 * - registration (RFC 7591, open because MCP clients register themselves) is held to the redirect
 *   URI rules (redirect-uri-policy.ts), counted per client address, and the stored clients are capped: at the cap the oldest clients never used (no live
 *   grant) are evicted first, so whoever fills the table only pushes out unused registrations;
 * - a failed client authentication at the token endpoint past the per-address limit is held and
 *   answered 429 — the secret is always compared and a right one always served;
 * - a client asking for a grant it is not registered for is `unauthorized_client` (RFC 6749 §5.2;
 *   the library answers `invalid_request`), as is a request naming no client at all
 *   (`invalid_client`, 401); the token endpoint answers other methods 405; a code or refresh token
 *   asked for another resource than its client's is `invalid_target` before anything is redeemed
 *   (token-resource.ts); every refusal is logged.
 * The address is the socket peer unless TRUSTED_PROXY_HOPS names proxies in front.
 */
export function createEndpointPolicy(deps: EndpointPolicyDeps) {
  return async (ctx: LimitContext, next: () => Promise<void>): Promise<void> => {
    if (ctx.path === OAUTH_ROUTES.registration && ctx.method === "POST") {
      return limitRegistration(deps, ctx, next);
    }
    if (ctx.path === OAUTH_ROUTES.token && refuseTokenMethod(ctx)) return;
    if (ctx.path === OAUTH_ROUTES.token && refuseForeignResource(ctx, deps.resources)) {
      await answerTokenRefusal(deps, ctx);
      return;
    }
    await next();
    if (ctx.path !== OAUTH_ROUTES.token || ctx.status < 400) return;
    await answerTokenRefusal(deps, ctx);
  };
}
