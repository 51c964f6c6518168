import type { Database } from "../../kit/db/index.js";
import type { Logger } from "../../kit/log/index.js";
import { clientAddressFrom } from "../throttle/client-address.js";
import type { ClientAuthThrottle } from "../throttle/client-auth-throttle.js";
import type { SlidingWindow } from "../throttle/sliding-window.js";
import { OAUTH_ROUTES } from "./provider-configuration.js";
import { redirectUriProblem } from "./redirect-uri-policy.js";

/** oidc-provider's words for a grant type the client is not registered for, and for no client at all. */
const GRANT_NOT_ALLOWED = "requested grant type is not allowed for this client";
const NO_CLIENT_AUTHENTICATION = "no client authentication mechanism provided";

/** Limits of open registration (docs/identity.md, "Client registration"). */
export const REGISTRATION_LIMITS = {
  perAddressPerHour: 20,
  maxClients: 10_000,
} as const;

/** The Koa context parts the limits read and answer with. */
interface LimitContext {
  readonly path: string;
  readonly method: string;
  readonly req: { readonly socket: { readonly remoteAddress?: string | undefined } };
  get(header: string): string;
  set(header: string, value: string): void;
  status: number;
  body: unknown;
}

export interface EndpointPolicyDeps {
  readonly db: Database;
  readonly registrationsPerAddress: SlidingWindow;
  readonly maxClients: number;
  readonly clientFailures: ClientAuthThrottle;
  readonly trustedProxyHops: number;
  /** The realm of the Basic challenge (the issuer). */
  readonly realm: string;
  readonly logger: Logger;
}

/**
 * The product's bounds around two of the provider's endpoints, as provider middleware:
 * - registration (RFC 7591, open because MCP clients register themselves) is held to the redirect
 *   URI rules (redirect-uri-policy.ts), counted per client address, and the stored clients are capped: at the cap the oldest clients never used (no live
 *   grant) are evicted first, so whoever fills the table only pushes out unused registrations;
 * - a failed client authentication at the token endpoint past the per-address limit is held and
 *   answered 429 — the secret is always compared and a right one always served;
 * - a client asking for a grant it is not registered for is `unauthorized_client` (RFC 6749 §5.2;
 *   the library answers `invalid_request`), as is a request naming no client at all
 *   (`invalid_client`, 401); the token endpoint answers other methods 405; every refusal is logged.
 * The address is the socket peer unless TRUSTED_PROXY_HOPS names proxies in front.
 */
export function createEndpointPolicy(deps: EndpointPolicyDeps) {
  const { logger } = deps;
  const addressOf = (ctx: LimitContext) =>
    clientAddressFrom(
      ctx.get("x-forwarded-for") || undefined,
      deps.trustedProxyHops,
      ctx.req.socket.remoteAddress,
    );
  const refuse = (ctx: LimitContext, status: number, description: string, retryAfterSec: number) => {
    ctx.status = status;
    ctx.set("retry-after", String(retryAfterSec));
    ctx.set("cache-control", "no-store");
    ctx.body = { error: "temporarily_unavailable", error_description: description };
  };

  return async (ctx: LimitContext, next: () => Promise<void>): Promise<void> => {
    if (ctx.path === OAUTH_ROUTES.registration && ctx.method === "POST") {
      const address = addressOf(ctx) ?? "?";
      const now = Date.now();
      const wait = deps.registrationsPerAddress.blockedFor(address, now);
      if (wait > 0) {
        logger.warn({ client_address: address }, "client registration refused: too many from this address");
        return refuse(ctx, 429, "too many client registrations from this address", Math.ceil(wait / 1000));
      }
      const problem = registrationProblem((ctx.req as { body?: string }).body);
      if (problem) {
        ctx.status = 400;
        ctx.set("cache-control", "no-store");
        ctx.body = problem;
        logger.warn({ client_address: address, ...problem }, `client registration refused: ${problem.error}`);
        return;
      }
      if (!(await makeRoom(deps.db, deps.maxClients, logger))) {
        return refuse(ctx, 503, "the client registry is full", 3600);
      }
      await next();
      if (ctx.status === 201) {
        deps.registrationsPerAddress.record(address, now);
        logger.info({ client_address: address }, "oauth client registered");
      }
      return;
    }
    if (ctx.path === OAUTH_ROUTES.token && ctx.method !== "POST" && ctx.method !== "OPTIONS") {
      ctx.status = 405;
      ctx.set("allow", "POST");
      ctx.set("cache-control", "no-store");
      ctx.body = { error: "invalid_request", error_description: "the token endpoint accepts POST only" };
      return;
    }
    await next();
    if (ctx.path !== OAUTH_ROUTES.token || ctx.status < 400) return;
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
      const answer = await deps.clientFailures.failed(addressOf(ctx));
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
    logger.warn(
      { error: answered?.error, error_description: answered?.error_description, status: ctx.status },
      `token request refused: ${answered?.error ?? "error"}`,
    );
  };
}

/** What a client may register for itself: the code flow only (our services' grants are ours). */
const REGISTRABLE_GRANTS: ReadonlySet<string> = new Set(["authorization_code", "refresh_token"]);

/**
 * The product's rules for a registration, beyond the library's (RFC 7591 §3.2.2 errors): redirect
 * URIs per redirect-uri-policy.ts, and no grant but the code flow — client credentials and the
 * token exchange belong to our services alone.
 */
function registrationProblem(
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

/** Evicts never-used clients until one more fits; false when the table is full of clients in use. */
async function makeRoom(db: Database, maxClients: number, logger: Logger): Promise<boolean> {
  const { rows } = await db.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM oidc_models WHERE model = 'Client'",
  );
  const stored = rows[0]?.n ?? 0;
  if (stored < maxClients) return true;
  const evicted = await db.query(
    `DELETE FROM oidc_models WHERE model = 'Client' AND id IN (
       SELECT c.id FROM oidc_models c
        WHERE c.model = 'Client' AND NOT EXISTS (
          SELECT 1 FROM oidc_models g WHERE g.model = 'Grant' AND g.payload->>'clientId' = c.id)
        ORDER BY c.created_at, c.id LIMIT $1)
     RETURNING id`,
    [stored - maxClients + 1],
  );
  if (evicted.rows.length > 0) {
    logger.info({ clients: evicted.rows.length }, "never-used oauth clients evicted for a registration");
  }
  return stored - evicted.rows.length < maxClients;
}
