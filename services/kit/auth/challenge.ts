/**
 * `WWW-Authenticate` values (RFC 6750 §3; on the MCP server also RFC 9728's `resource_metadata`,
 * which points the client at the protected-resource metadata). The one builder for every door.
 */

const quote = (v: string) => `"${v.replace(/[\\"]/g, "")}"`;

function challenge(params: Record<string, string | undefined>): string {
  const parts = Object.entries(params)
    .filter((e): e is [string, string] => e[1] !== undefined)
    .map(([k, v]) => `${k}=${quote(v)}`);
  return parts.length > 0 ? `Bearer ${parts.join(", ")}` : "Bearer";
}

/** No credentials at all: no error code (RFC 6750 §3.1), just where to learn how to get one. */
export function missingTokenChallenge(resourceMetadataUrl?: string): string {
  return challenge({ resource_metadata: resourceMetadataUrl });
}

export function invalidTokenChallenge(description: string, resourceMetadataUrl?: string): string {
  return challenge({
    error: "invalid_token",
    error_description: description,
    resource_metadata: resourceMetadataUrl,
  });
}

export function insufficientScopeChallenge(
  scope: string,
  description: string,
  resourceMetadataUrl?: string,
): string {
  return challenge({
    error: "insufficient_scope",
    scope,
    error_description: description,
    resource_metadata: resourceMetadataUrl,
  });
}
