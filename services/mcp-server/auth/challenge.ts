/**
 * `WWW-Authenticate` values (RFC 6750 §3, MCP authorization spec): every 401/403 points the client
 * at the protected-resource metadata, so it can discover the authorization server.
 */

const quote = (v: string) => `"${v.replace(/[\\"]/g, "")}"`;

function challenge(params: Record<string, string | undefined>): string {
  const parts = Object.entries(params)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => `${k}=${quote(v)}`);
  return parts.length > 0 ? `Bearer ${parts.join(", ")}` : "Bearer";
}

/** No credentials at all: no error code (RFC 6750 §3.1), just where to learn how to get one. */
export function missingTokenChallenge(resourceMetadataUrl: string): string {
  return challenge({ resource_metadata: resourceMetadataUrl });
}

export function invalidTokenChallenge(resourceMetadataUrl: string, description: string): string {
  return challenge({
    error: "invalid_token",
    error_description: description,
    resource_metadata: resourceMetadataUrl,
  });
}

export function insufficientScopeChallenge(
  resourceMetadataUrl: string,
  scope: string,
  description: string,
): string {
  return challenge({
    error: "insufficient_scope",
    scope,
    error_description: description,
    resource_metadata: resourceMetadataUrl,
  });
}
