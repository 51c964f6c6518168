import type { OAuthClient } from "../clients/oauth-client.js";
import type { ResolveClient } from "../clients/resolve-client.js";
import { AuthorizeError, RegistrationError, UntrustedRedirectError } from "../oauth-errors.js";
import { isS256Challenge } from "../pkce.js";
import { matchRedirectUri } from "../redirect-uris.js";

/** An authorization request that passed every check that doesn't need the user. */
export interface AuthorizationRequest {
  readonly client: OAuthClient;
  /** As the client sent it (the token request must repeat it exactly). */
  readonly redirectUri: string;
  readonly state: string | undefined;
  readonly codeChallenge: string;
  /** The scope asked for, unparsed; narrowed against the user's once they log in. */
  readonly scope: string | undefined;
  readonly resource: string;
}

/** The parameters of an authorization request, carried through the login form as hidden fields. */
export const REQUEST_PARAMETERS = [
  "response_type",
  "client_id",
  "redirect_uri",
  "state",
  "scope",
  "code_challenge",
  "code_challenge_method",
  "resource",
] as const;

/**
 * Validates an authorization request in the order RFC 6749 §4.1.2.1 needs: first the client and
 * its redirect URI — a failure there is an UntrustedRedirectError (an error page, no redirect) —
 * then everything else, whose failures are AuthorizeErrors sent back to that redirect URI.
 */
export async function validateAuthorizationRequest(
  params: URLSearchParams,
  options: { resolveClient: ResolveClient; mcpResource: string },
): Promise<AuthorizationRequest> {
  for (const name of REQUEST_PARAMETERS) {
    if (params.getAll(name).length > 1) {
      // Which redirect URI or client would be meant is ambiguous: nothing can be trusted.
      throw new UntrustedRedirectError(`parameter "${name}" appears more than once`);
    }
  }
  const clientId = params.get("client_id");
  if (!clientId) throw new UntrustedRedirectError("client_id is missing");
  let client: OAuthClient | undefined;
  try {
    client = await options.resolveClient(clientId);
  } catch (err) {
    if (err instanceof RegistrationError)
      throw new UntrustedRedirectError(`the client could not be identified: ${err.description}`);
    throw err;
  }
  if (!client) throw new UntrustedRedirectError("unknown client_id");
  const requested = params.get("redirect_uri");
  if (!requested) throw new UntrustedRedirectError("redirect_uri is missing");
  if (!matchRedirectUri(requested, client.redirectUris)) {
    throw new UntrustedRedirectError("redirect_uri is not registered for this client");
  }
  const state = params.get("state") ?? undefined;
  const fail = (error: ConstructorParameters<typeof AuthorizeError>[0], description: string): never => {
    throw new AuthorizeError(error, description, { redirectUri: requested, state });
  };
  if (params.get("response_type") !== "code")
    fail("unsupported_response_type", 'response_type must be "code"');
  const challenge = params.get("code_challenge");
  if (!challenge) fail("invalid_request", "code_challenge is required (PKCE)");
  if (params.get("code_challenge_method") !== "S256")
    fail("invalid_request", "code_challenge_method must be S256");
  if (!isS256Challenge(challenge as string))
    fail("invalid_request", "code_challenge is not an S256 challenge");
  const resource = params.get("resource") ?? options.mcpResource;
  if (resource !== options.mcpResource)
    fail("invalid_target", "resource is not a resource this server issues tokens for");
  return {
    client,
    redirectUri: requested,
    state,
    codeChallenge: challenge as string,
    scope: params.get("scope") ?? undefined,
    resource,
  };
}

/** The redirect back to the client, with RFC 9207's `iss` so the client can tell servers apart. */
export function redirectBack(
  redirectUri: string,
  issuer: string,
  params: Record<string, string | undefined>,
): string {
  const url = new URL(redirectUri);
  for (const [name, value] of Object.entries(params))
    if (value !== undefined) url.searchParams.append(name, value);
  url.searchParams.append("iss", issuer);
  return url.href;
}
