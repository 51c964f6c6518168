import type { ClientMetadata } from "oidc-provider";
import { EXTENSION_CLIENT_ID } from "./extension-client.js";

/**
 * AuthService.Login's client (docs/identity.md, "One issuer, one grant model"): first-party API
 * use — the original reproduction flow, the command-line login, the load scripts — signs in with a
 * password over Connect, and its grant is the provider's like any other. Public (the secret would
 * sit beside the password anyway), no redirect: its grants are made by Login only, and its refresh
 * tokens rotate at the token endpoint as every client's do.
 */
export const LOGIN_CLIENT_ID = "support-ext-login";

export function loginClient(): ClientMetadata {
  return {
    client_id: LOGIN_CLIENT_ID,
    client_name: "Support Assistant (first-party API sign-in)",
    grant_types: ["refresh_token"],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: "none",
    id_token_signed_response_alg: "ES256",
  };
}

/**
 * Our own clients: the user's own hands, not someone acting for the user. Their tokens are for the
 * product's API and carry no `act`; every other client's tokens are for the MCP server and name
 * the client in `act` (RFC 8693 §4.1).
 */
export const FIRST_PARTY_CLIENTS: ReadonlySet<string> = new Set([EXTENSION_CLIENT_ID, LOGIN_CLIENT_ID]);

export const isFirstParty = (clientId: string | undefined): boolean =>
  clientId !== undefined && FIRST_PARTY_CLIENTS.has(clientId);
