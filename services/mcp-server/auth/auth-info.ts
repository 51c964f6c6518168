import type { AuthInfo } from "@modelcontextprotocol/server";
import type { Principal } from "#kit/auth/index.js";

/**
 * The principal travels to tool handlers inside the SDK's own per-request `authInfo` (handed to the
 * transport or to the per-request handler, surfaced as `ctx.http.authInfo`), never through module
 * state, so concurrent requests of different users cannot see each other's identity.
 */
export function toAuthInfo(principal: Principal, token: string | undefined, resource: URL): AuthInfo {
  return {
    token: token ?? "",
    clientId: principal.actor?.sub ?? principal.userId,
    scopes: [...principal.scopes],
    // The SDK's helpers treat a missing expiry as invalid; the dev principal never expires.
    expiresAt: principal.expiresAt,
    resource,
    extra: { principal },
  };
}

/** The verified principal of the request a handler serves. Throws if the HTTP layer did not set one. */
export function principalOf(authInfo: AuthInfo | undefined): Principal {
  const principal = authInfo?.extra?.principal as Principal | undefined;
  if (!principal) throw new Error("request reached a tool handler without an authenticated principal");
  return principal;
}
