import type { ClientMetadata } from "oidc-provider";
import type { Config } from "#kit/config/index.js";

/**
 * The browser extension: a public OAuth client of our own (docs/identity.md, "The extension's
 * sign-in"). It signs in with the authorization code flow and PKCE through chrome.identity, so no
 * password ever reaches its popup, and its tokens are for the product's API (chat, the agent, the
 * exchange at the gateway), not for the MCP server. It acts as the user, not for them: its tokens
 * carry no `act`.
 */
export const EXTENSION_CLIENT_ID = "support-ext-extension";

export function extensionClient(config: Pick<Config, "EXTENSION_REDIRECT_URIS">): ClientMetadata {
  return {
    client_id: EXTENSION_CLIENT_ID,
    client_name: "Support Assistant (browser extension)",
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    redirect_uris: [...config.EXTENSION_REDIRECT_URIS],
    token_endpoint_auth_method: "none",
    id_token_signed_response_alg: "ES256",
  };
}
