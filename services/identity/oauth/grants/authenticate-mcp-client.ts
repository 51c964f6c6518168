import { parseBasic, sameSecret } from "../../http/client-auth.js";
import type { Form } from "../../http/form-body.js";
import { invalidRequest, OAuthError } from "../../http/oauth-response.js";
import type { OAuthClient } from "../clients/oauth-client.js";
import type { ResolveClient } from "../clients/resolve-client.js";
import { RegistrationError } from "../oauth-errors.js";
import { hashOpaque } from "../opaque-secret.js";

/**
 * Identifies the MCP client of a token request (OAuth 2.1 §2.4): a public client names itself
 * with `client_id` and proves nothing (PKCE binds the code to it); a confidential registered
 * client authenticates with the secret it was given, by Basic or in the body, as it registered.
 */
export async function authenticateMcpClient(
  authorization: string | undefined,
  form: Form,
  resolve: ResolveClient,
  realm: string,
): Promise<OAuthClient> {
  const challenge = { "www-authenticate": `Basic realm="${realm}", charset="UTF-8"` };
  const refuse = (description: string) => new OAuthError(401, "invalid_client", description, challenge);
  const basic = parseBasic(authorization);
  const postedId = form.get("client_id");
  const postedSecret = form.get("client_secret");
  if (basic && (postedSecret !== undefined || (postedId !== undefined && postedId !== basic.id))) {
    throw invalidRequest("use one client authentication method: HTTP Basic or the request body, not both");
  }
  const clientId = basic?.id ?? postedId;
  if (!clientId) throw refuse("client_id is required");
  let client: OAuthClient | undefined;
  try {
    client = await resolve(clientId);
  } catch (err) {
    // Too many metadata documents being fetched is not a verdict on the client: retry later.
    if (err instanceof RegistrationError && err.error === "temporarily_unavailable") {
      throw new OAuthError(503, "temporarily_unavailable", err.description, err.headers);
    }
    if (err instanceof RegistrationError) throw refuse(err.description);
    throw err;
  }
  if (!client) throw refuse("unknown client");
  const secret = basic?.secret ?? postedSecret;
  if (client.tokenEndpointAuthMethod === "none") {
    if (secret !== undefined) throw refuse("this client is public: it has no secret");
    return client;
  }
  const used = basic ? "client_secret_basic" : "client_secret_post";
  if (secret === undefined || used !== client.tokenEndpointAuthMethod) {
    throw refuse(`this client authenticates with ${client.tokenEndpointAuthMethod}`);
  }
  if (!client.clientSecretHash || !sameSecret(hashOpaque(secret), client.clientSecretHash)) {
    throw refuse("client authentication failed");
  }
  return client;
}
