import type { ClientMetadata } from "oidc-provider";
import type { RegisteredClient } from "../clients/client-registry.js";

/**
 * Our services as the provider's confidential clients (docs/identity.md, "Clients"): each with
 * its secret, sent by HTTP Basic (RFC 6749 §2.3.1), and only the grants the registry gives it.
 */
export function serviceClients(clients: readonly RegisteredClient[]): ClientMetadata[] {
  return clients.map((c) => ({
    client_id: c.clientId,
    client_secret: c.clientSecret,
    grant_types: [...c.grants],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: "client_secret_basic",
    id_token_signed_response_alg: "ES256",
  }));
}
