import { trace } from "@opentelemetry/api";
import type { Provider } from "oidc-provider";
import type { Logger } from "#kit/log/index.js";
import type { RevocationReason } from "../sessions/revocation-list.js";
import type { RevokeSession } from "../sessions/session-revoker.js";
import { isFirstParty } from "./first-party-clients.js";
import { holdAnswerFor } from "./revocations-before-answer.js";

/** The parts of the provider's request context its events are read for. */
interface ProviderContext {
  readonly oidc: {
    readonly route?: string;
    readonly params?: { readonly grant_type?: string };
    readonly client?: { readonly clientId: string };
    readonly entities?: {
      readonly AccessToken?: { accountId?: string; grantId?: string; scope?: string; jti?: string };
    };
  };
}

/**
 * What the product does on the provider's events: a revoked grant ends its login session
 * everywhere before the answer leaves, an issued token names its user and session on the span
 * (and is logged for the code flow), and a server error is logged.
 */
export function observeProviderEvents(
  provider: Provider,
  deps: { readonly revoke: RevokeSession; readonly logger: Logger },
): void {
  const { logger } = deps;
  provider.on("grant.revoked", (ctx: ProviderContext, grantId: string) => {
    const reason = revocationReason(ctx);
    const revoking = deps.revoke(grantId, reason).then(
      () =>
        logger.warn({ session_id: grantId, reason }, "oauth grant revoked: login session ended everywhere"),
      (err: unknown) =>
        logger.error({ err, session_id: grantId }, "oauth grant revoked but its session could not be"),
    );
    holdAnswerFor(ctx, revoking);
  });
  provider.on("grant.success", (ctx: ProviderContext) => onTokenIssued(ctx, logger));
  provider.on("server_error", (_ctx: unknown, err: unknown) =>
    logger.error({ err }, "authorization server failed"),
  );
}

function onTokenIssued(ctx: ProviderContext, logger: Logger): void {
  const grantType = ctx.oidc.params?.grant_type;
  const token = ctx.oidc.entities?.AccessToken;
  const clientId = ctx.oidc.client?.clientId;
  // Whom the token endpoint's span served: the grant, the client, the user and login session.
  trace.getActiveSpan()?.setAttributes({
    ...(grantType ? { "oauth2.grant_type": grantType } : {}),
    ...(clientId ? { "oauth2.client_id": clientId } : {}),
    ...(token?.accountId ? { "user.id": token.accountId } : {}),
    ...(token?.grantId ? { "session.id": token.grantId } : {}),
  });
  if (grantType !== "authorization_code" && grantType !== "refresh_token") return;
  logger.info(
    {
      client_id: clientId,
      user_id: token?.accountId,
      session_id: token?.grantId,
      scope: token?.scope,
      jti: token?.jti,
      grant: grantType,
    },
    isFirstParty(clientId) ? "token issued to a first-party client" : "token issued to an MCP client",
  );
}

/** Why the provider revoked a grant, from the request that made it do so. */
function revocationReason(ctx: ProviderContext): RevocationReason {
  if (ctx.oidc.route === "revocation") return "client_revoked";
  // The browser's session at the provider ended: a sign-out, or a second person signing in to the
  // same client in the same browser (the provider ends the first's session and its grants).
  if (ctx.oidc.route === "end_session_confirm") return "logout";
  return ctx.oidc.params?.grant_type === "authorization_code"
    ? "authorization_code_reuse"
    : "refresh_token_reuse";
}
