import type { HttpRequest, HttpResponse, HttpRouteHandler } from "../../kit/server/service-server.js";
import { methodNotAllowed, sendPublicJson } from "./http-io.js";

export const AS_METADATA_PATH = "/.well-known/oauth-authorization-server";

export interface AuthorizationServerEndpoints {
  readonly issuer: string;
  readonly authorizationPath: string;
  readonly tokenPath: string;
  readonly registrationPath: string;
  readonly jwksPath: string;
  readonly scopes: readonly string[];
}

/**
 * RFC 8414 §2 metadata: what an MCP client reads after the MCP server's RFC 9728 document names
 * this issuer. Only what is implemented is advertised: code flow, S256 only, public and
 * secret-based clients, Client ID Metadata Documents, RFC 9207 `iss` on the redirect.
 */
export function authorizationServerMetadata(e: AuthorizationServerEndpoints): Record<string, unknown> {
  return {
    issuer: e.issuer,
    authorization_endpoint: `${e.issuer}${e.authorizationPath}`,
    token_endpoint: `${e.issuer}${e.tokenPath}`,
    registration_endpoint: `${e.issuer}${e.registrationPath}`,
    jwks_uri: `${e.issuer}${e.jwksPath}`,
    scopes_supported: [...e.scopes],
    response_types_supported: ["code"],
    response_modes_supported: ["query"],
    grant_types_supported: ["authorization_code", "refresh_token"],
    code_challenge_methods_supported: ["S256"],
    token_endpoint_auth_methods_supported: ["none", "client_secret_basic", "client_secret_post"],
    client_id_metadata_document_supported: true,
    authorization_response_iss_parameter_supported: true,
  };
}

/** `GET /.well-known/oauth-authorization-server` (the issuer has no path, so no suffix: RFC 8414 §3.1). */
export function createMetadataRoute(e: AuthorizationServerEndpoints): HttpRouteHandler {
  const body = authorizationServerMetadata(e);
  return (req: HttpRequest, res: HttpResponse) => {
    if (req.method !== "GET" && req.method !== "HEAD") return methodNotAllowed(res, "GET");
    sendPublicJson(res, 200, body, { "cache-control": "public, max-age=300" });
  };
}
