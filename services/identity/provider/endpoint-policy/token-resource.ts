import { decodeComponent } from "../../input/request-parameters.js";
import type { ResourceServers } from "../resource-servers.js";
import type { LimitContext } from "./policy-context.js";

/** Grants that redeem something once: a code, or a refresh token that rotates. */
const REDEEMING_GRANTS: ReadonlySet<string> = new Set(["authorization_code", "refresh_token"]);

/**
 * A code or refresh-token request naming a resource its client's tokens are not for is refused
 * here, `invalid_target` (RFC 8707 §2), before the library reads it: the library consumes the code
 * or the refresh token first and checks the resource after, so a client that got its resource URI
 * slightly wrong (a trailing slash, another host name) lost its whole grant on the first refresh —
 * the consumed token's reuse then revoked it. What the request names is compared as the library
 * does (each client has one resource: resource-servers.ts); a request naming no resource, or no
 * client this can tell, goes on to the library unchanged.
 */
export function refuseForeignResource(ctx: LimitContext, resources: ResourceServers): boolean {
  const body = (ctx.req as { body?: unknown }).body;
  if (ctx.method !== "POST" || typeof body !== "string") return false;
  const params = new URLSearchParams(body);
  const grant = params.get("grant_type");
  const named = params.getAll("resource");
  if (grant === null || !REDEEMING_GRANTS.has(grant) || named.length === 0) return false;
  const clientId = params.get("client_id") ?? basicClientId(ctx.get("authorization"));
  if (clientId === undefined) return false;
  const target = resources.resourceFor(clientId);
  if (named.every((resource) => resource === target)) return false;
  ctx.status = 400;
  ctx.set("cache-control", "no-store");
  ctx.body = {
    error: "invalid_target",
    error_description: `this client's tokens are for ${target} only; nothing was redeemed`,
  };
  return true;
}

/** The client id of HTTP Basic client authentication (RFC 6749 §2.3.1: form-encoded, then base64). */
function basicClientId(authorization: string): string | undefined {
  const match = /^basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(authorization);
  if (!match?.[1]) return undefined;
  const decoded = Buffer.from(match[1], "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  try {
    return decodeComponent(decoded.slice(0, colon), (description) => new Error(description));
  } catch {
    return undefined;
  }
}
