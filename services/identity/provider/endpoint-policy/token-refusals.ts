import type { Logger } from "#kit/log/index.js";
import type { ClientAuthThrottle } from "../../throttle/client-auth-throttle.js";
import { type AddressDeps, addressOf, type LimitContext, refuse } from "./policy-context.js";

/** oidc-provider's words for a grant type the client is not registered for, and for no client at all. */
const GRANT_NOT_ALLOWED = "requested grant type is not allowed for this client";
const NO_CLIENT_AUTHENTICATION = "no client authentication mechanism provided";

export interface TokenRefusalDeps extends AddressDeps {
  readonly clientFailures: ClientAuthThrottle;
  /** The realm of the Basic challenge (the issuer). */
  readonly realm: string;
  readonly logger: Logger;
}

/** The token endpoint answers POST only (and its CORS preflight): anything else is 405. */
export function refuseTokenMethod(ctx: LimitContext): boolean {
  if (ctx.method === "POST" || ctx.method === "OPTIONS") return false;
  ctx.status = 405;
  ctx.set("allow", "POST");
  ctx.set("cache-control", "no-store");
  ctx.body = { error: "invalid_request", error_description: "the token endpoint accepts POST only" };
  return true;
}

/**
 * A refused token request as answered: a grant the client is not registered for is
 * `unauthorized_client` (RFC 6749 §5.2), no client at all `invalid_client` (401), a failed client
 * authentication past the per-address limit is held and 429; every refusal is logged.
 */
export async function answerTokenRefusal(deps: TokenRefusalDeps, ctx: LimitContext): Promise<void> {
  const refused = ctx.body as { error?: string; error_description?: string } | undefined;
  if (ctx.status === 400 && refused?.error_description === GRANT_NOT_ALLOWED) {
    ctx.body = {
      error: "unauthorized_client",
      error_description: "this client may not use the grant type it asked for",
    };
  }
  if (ctx.status === 400 && refused?.error_description === NO_CLIENT_AUTHENTICATION) {
    ctx.status = 401;
    ctx.set("www-authenticate", `Basic realm="${deps.realm}"`);
    ctx.body = { error: "invalid_client", error_description: "client authentication is required" };
  }
  if (ctx.status === 401) {
    const answer = await deps.clientFailures.failed(addressOf(ctx, deps));
    if (answer.throttled) {
      refuse(
        ctx,
        429,
        `too many failed client authentications from this address; retry in ${answer.retryAfterSec} s`,
        answer.retryAfterSec,
      );
    }
  }
  const answered = ctx.body as { error?: string; error_description?: string } | undefined;
  deps.logger.warn(
    { error: answered?.error, error_description: answered?.error_description, status: ctx.status },
    `token request refused: ${answered?.error ?? "error"}`,
  );
}
