import * as jose from "jose";
import type { Provider } from "oidc-provider";
import type { Logger } from "#kit/log/index.js";
import type { KeyRing } from "../keys/key-ring.js";
import type { RevokeSession } from "../sessions/session-revoker.js";

/** The revocation request's context, as far as this reads and answers it. */
interface RevocationContext {
  status: number;
  body: unknown;
  readonly oidc?: {
    readonly route?: string;
    readonly params?: { readonly token?: unknown };
    readonly client?: { readonly clientId: string; readonly clientAuthMethod?: string };
  };
}

export interface AccessTokenRevocationDeps {
  readonly keyRing: KeyRing;
  readonly issuer: string;
  readonly clockToleranceSec: number;
  readonly revoke: RevokeSession;
  readonly logger: Logger;
}

/**
 * RFC 7009 revocation of our own access tokens (docs/identity.md, "Revocation"). oidc-provider
 * answers a structured (JWT) access token at its revocation endpoint with `unsupported_token_type`,
 * and it does so only after it has authenticated the client (its route checks the client before
 * the token). Registered before the routes, this then ends the token's grant — the login session
 * every hop revokes by (`sid`) — as revoking the grant's refresh token does (RFC 7009 §2.1: the
 * underlying grant may be revoked with the token): the token, its refresh token and every other
 * token of the grant are refused everywhere before the answer leaves. Only when the token verifies
 * as an access token of ours (our key ring, our issuer, `typ` at+jwt) issued to the authenticated
 * client on a grant of that same client — so a gateway holding a user's exchanged token cannot end
 * the user's login. An expired or foreign token is answered 200 with nothing done (RFC 7009 §2.2);
 * another client's token as the library answers it for opaque ones; a token with no grant (a
 * service's) keeps `unsupported_token_type`. A revocation that fails is 503 (RFC 7009 §2.2.1).
 */
export function revokeAccessTokensByGrant(provider: Provider, deps: AccessTokenRevocationDeps): void {
  provider.use(async (raw, next) => {
    await next();
    const ctx = raw as RevocationContext;
    if (ctx.oidc?.route !== "revocation" || ctx.status !== 400) return;
    if ((ctx.body as { error?: unknown } | undefined)?.error !== "unsupported_token_type") return;
    const client = ctx.oidc.client;
    const token = ctx.oidc.params?.token;
    if (!client || typeof token !== "string") return;
    const claims = await ourAccessToken(token, deps);
    if (claims === undefined) return answer(ctx, 200);
    const grantId = typeof claims.sid === "string" ? claims.sid : undefined;
    if (grantId === undefined) return;
    const grant = await provider.Grant.find(grantId);
    if (claims.client_id !== client.clientId || (grant && grant.clientId !== client.clientId)) {
      // As the library answers another client's opaque token: silence to a public client (it
      // proved nothing), a refusal to a confidential one.
      if (client.clientAuthMethod === "none") return answer(ctx, 200);
      return answer(ctx, 400, {
        error: "invalid_request",
        error_description: "client is not authorized to revoke the presented token",
      });
    }
    // The answer leaves once the session is revoked everywhere (the row, the feed), as for a refresh token.
    try {
      await deps.revoke(grantId, "client_revoked");
      deps.logger.warn(
        { session_id: grantId, client_id: client.clientId, user_id: claims.sub },
        "access token revoked by its client: login session ended everywhere",
      );
      answer(ctx, 200);
    } catch (err) {
      deps.logger.error({ err, session_id: grantId }, "access token revocation failed");
      // RFC 7009 §2.2.1: the client must assume the token still valid, and may try again.
      answer(ctx, 503, {
        error: "temporarily_unavailable",
        error_description: "the token could not be revoked; try again",
      });
    }
  });
}

/** The claims of `token` if it is a current access token of ours; undefined for anything else. */
async function ourAccessToken(
  token: string,
  deps: Pick<AccessTokenRevocationDeps, "keyRing" | "issuer" | "clockToleranceSec">,
): Promise<jose.JWTPayload | undefined> {
  try {
    const { payload } = await jose.jwtVerify(token, deps.keyRing.resolveKey, {
      issuer: deps.issuer,
      typ: "at+jwt",
      clockTolerance: deps.clockToleranceSec,
    });
    return payload;
  } catch {
    return undefined;
  }
}

function answer(ctx: RevocationContext, status: number, body?: Record<string, string>): void {
  ctx.status = status;
  ctx.body = body ?? "";
}
