import type { Provider } from "oidc-provider";
import type { Logger } from "#kit/log/index.js";
import type { RevokeSession } from "../sessions/session-revoker.js";
import { holdAnswerFor } from "./revocations-before-answer.js";
import { alreadyConsumedError } from "./storage/sql-adapter.js";

/** What the refresh that lost the race to consume its token is refused with (storage/sql-adapter.ts). */
const LOST_RACE_DETAIL = detailOf(alreadyConsumedError("RefreshToken"));

/** The token request's context as the provider's `grant.error` event hands it over. */
interface GrantErrorContext {
  readonly oidc?: { readonly entities?: { readonly RefreshToken?: { readonly grantId?: string } } };
}

/**
 * Two refreshes with one refresh token at the same moment are reuse, as a spent token presented
 * later is (RFC 9700 §4.14.2): two parties hold it. The provider revokes the grant for the later
 * one itself; of concurrent ones the storage lets exactly one consume and refuses the others
 * (storage/sql-adapter.ts), and this ends the grant — the winner's fresh tokens included —
 * everywhere, as the provider's own revocation does.
 */
export function revokeOnConcurrentReuse(provider: Provider, revoke: RevokeSession, logger: Logger): void {
  provider.on("grant.error", (ctx: GrantErrorContext, err: unknown) => {
    const grantId = ctx.oidc?.entities?.RefreshToken?.grantId;
    if (!grantId || detailOf(err) !== LOST_RACE_DETAIL) return;
    const revoking = revoke(grantId, "refresh_token_reuse").then(
      () => logger.warn({ session_id: grantId }, "concurrent refresh token reuse: login session revoked"),
      (error: unknown) =>
        logger.error(
          { err: error, session_id: grantId },
          "concurrent refresh token reuse: revocation failed",
        ),
    );
    holdAnswerFor(ctx, revoking);
  });
}

function detailOf(err: unknown): string | undefined {
  const detail = (err as { error_detail?: unknown } | undefined)?.error_detail;
  return typeof detail === "string" ? detail : undefined;
}
