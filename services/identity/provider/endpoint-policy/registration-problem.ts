import { redirectUriProblem } from "../redirect-uri-policy.js";

/** What a client may register for itself: the code flow only (our services' grants are ours). */
const REGISTRABLE_GRANTS: ReadonlySet<string> = new Set(["authorization_code", "refresh_token"]);

/**
 * Metadata that would have the provider fetch a URL the registrant names, later, from inside our
 * network: `jwks_uri` (keys for `private_key_jwt`; inline `jwks` serves as well) and
 * `sector_identifier_uri` (pairwise subjects, which nothing here uses). Refused, so an anonymous
 * registration cannot point the provider's connections at internal hosts.
 */
export const FETCHED_URIS = ["jwks_uri", "sector_identifier_uri"] as const;

/**
 * The product's rules for a registration, beyond the library's (RFC 7591 §3.2.2 errors): redirect
 * URIs per redirect-uri-policy.ts, no URL the provider would fetch later, and no grant but the code
 * flow — client credentials and the token exchange belong to our services alone.
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
  const metadata = parsed as { redirect_uris?: unknown; grant_types?: unknown } & Record<string, unknown>;
  const fetched = FETCHED_URIS.find((name) => metadata[name] !== undefined);
  if (fetched !== undefined) {
    return {
      error: "invalid_client_metadata",
      error_description: `${fetched}: not accepted here (the server fetches no URL a registration names)`,
    };
  }
  if (Array.isArray(metadata.redirect_uris)) {
    for (const uri of metadata.redirect_uris) {
      // Anything else (a nested list, an object) is refused here, before the registration is
      // rewritten (withPublicClientDefault) and read by the library: the hostile-input fuzz's deeply
      // nested list was answered 500 once rewritten (which step of the library failed is not known).
      if (typeof uri !== "string") {
        return { error: "invalid_redirect_uri", error_description: "redirect_uris: each must be a string" };
      }
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

/**
 * The registration as the library is to read it: with no `token_endpoint_auth_method`, a client is
 * public (`none`, the default the product documents; docs/identity.md, "Client registration"). The
 * library decides whether to issue a secret from the request before applying its client defaults,
 * so without this a public client was handed a `client_secret` it could not use and which sat in
 * clear in its row. Anything not a JSON object is left for the library to refuse.
 */
export function withPublicClientDefault(body: string | undefined): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body ?? "");
  } catch {
    return body;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return body;
  if ("token_endpoint_auth_method" in parsed) return body;
  return JSON.stringify({ ...parsed, token_endpoint_auth_method: "none" });
}
