import { RegistrationError } from "../oauth-errors.js";
import { redirectUriProblem } from "../redirect-uris.js";
import type { TokenEndpointAuthMethod } from "./oauth-client.js";

/** The client metadata the server acts on (RFC 7591 §2); anything else is ignored. */
export interface ClientMetadata {
  readonly redirectUris: readonly string[];
  readonly clientName: string | undefined;
  readonly tokenEndpointAuthMethod: TokenEndpointAuthMethod;
}

const MAX_REDIRECT_URIS = 10;
const MAX_NAME = 100;
const GRANTS = new Set(["authorization_code", "refresh_token"]);

/**
 * Validates client metadata from a registration request or a Client ID Metadata Document.
 * `authMethods`: the methods this kind of client may use; the first is the default.
 */
export function parseClientMetadata(
  raw: unknown,
  authMethods: readonly TokenEndpointAuthMethod[],
): ClientMetadata {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw invalidMetadata("client metadata must be a JSON object");
  }
  const doc = raw as Record<string, unknown>;
  const uris = doc.redirect_uris;
  if (!Array.isArray(uris) || uris.length === 0 || uris.length > MAX_REDIRECT_URIS) {
    throw new RegistrationError(
      400,
      "invalid_redirect_uri",
      `redirect_uris must list 1–${MAX_REDIRECT_URIS} URIs`,
    );
  }
  for (const uri of uris) {
    const problem = typeof uri === "string" ? redirectUriProblem(uri) : "is not a string";
    if (problem)
      throw new RegistrationError(
        400,
        "invalid_redirect_uri",
        `redirect URI ${JSON.stringify(uri).slice(0, 200)} ${problem}`,
      );
  }
  const grants = doc.grant_types;
  if (
    grants !== undefined &&
    (!Array.isArray(grants) || !grants.every((g) => typeof g === "string" && GRANTS.has(g)))
  ) {
    throw invalidMetadata("grant_types may list only authorization_code and refresh_token");
  }
  const responseTypes = doc.response_types;
  if (
    responseTypes !== undefined &&
    (!Array.isArray(responseTypes) || !responseTypes.every((t) => t === "code"))
  ) {
    throw invalidMetadata('response_types may list only "code"');
  }
  const method = doc.token_endpoint_auth_method ?? authMethods[0];
  if (typeof method !== "string" || !authMethods.includes(method as TokenEndpointAuthMethod)) {
    throw invalidMetadata(`token_endpoint_auth_method must be one of: ${authMethods.join(", ")}`);
  }
  const name = doc.client_name;
  if (name !== undefined && typeof name !== "string") throw invalidMetadata("client_name must be a string");
  return {
    redirectUris: [...new Set(uris as string[])],
    // Control characters could forge lines on the consent page; the page escapes HTML anyway.
    clientName: name
      ? name
          .replace(/\p{Cc}/gu, " ")
          .trim()
          .slice(0, MAX_NAME) || undefined
      : undefined,
    tokenEndpointAuthMethod: method as TokenEndpointAuthMethod,
  };
}

const invalidMetadata = (description: string) =>
  new RegistrationError(400, "invalid_client_metadata", description);
