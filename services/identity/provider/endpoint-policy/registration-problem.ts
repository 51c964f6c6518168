import { redirectUriProblem } from "../redirect-uri-policy.js";

/** What a client may register for itself: the code flow only (our services' grants are ours). */
const REGISTRABLE_GRANTS: ReadonlySet<string> = new Set(["authorization_code", "refresh_token"]);

/**
 * The product's rules for a registration, beyond the library's (RFC 7591 §3.2.2 errors): redirect
 * URIs per redirect-uri-policy.ts, and no grant but the code flow — client credentials and the
 * token exchange belong to our services alone.
 */
export function registrationProblem(
  body: string | undefined,
): { error: string; error_description: string } | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body ?? "{}");
  } catch {
    return undefined; // not JSON: the provider refuses it as such
  }
  // Not an object (null, a list, a number): the provider refuses it as such.
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return undefined;
  const metadata = parsed as { redirect_uris?: unknown; grant_types?: unknown };
  if (Array.isArray(metadata.redirect_uris)) {
    for (const uri of metadata.redirect_uris) {
      if (typeof uri !== "string") continue;
      const problem = redirectUriProblem(uri);
      if (problem)
        return {
          error: "invalid_redirect_uri",
          error_description: `redirect_uris: ${uri.slice(0, 200)} ${problem}`,
        };
    }
  }
  if (Array.isArray(metadata.grant_types)) {
    const other = metadata.grant_types.find((g) => typeof g !== "string" || !REGISTRABLE_GRANTS.has(g));
    if (other !== undefined) {
      return {
        error: "invalid_client_metadata",
        error_description: `grant_types: only authorization_code and refresh_token may be registered, not ${String(other).slice(0, 100)}`,
      };
    }
  }
  return undefined;
}
