import type { Provider } from "oidc-provider";
import { registerClientCredentialsGrant } from "./client-credentials-grant.js";
import type { ServiceGrantDeps } from "./grant-context.js";
import { registerTokenExchangeGrant } from "./token-exchange-grant.js";

export type { ServiceGrantDeps } from "./grant-context.js";

/**
 * Our services' grants, registered with the provider (docs/identity.md, "Service grants"): the
 * provider authenticates the client (its secret, its allowed grant types) and answers errors as
 * RFC 6749 §5.2 objects, and issues and signs the tokens (one issuer: docs/identity.md, "One
 * issuer, one grant model"); what stays ours is the policy — which service tokens a service may
 * hold, which agent it may name, and the exchange's actor chain and narrowing. One file per grant.
 */
export function registerServiceGrants(provider: Provider, deps: ServiceGrantDeps): void {
  registerClientCredentialsGrant(provider, deps);
  registerTokenExchangeGrant(provider, deps);
}
