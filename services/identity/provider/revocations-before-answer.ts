import type { Provider } from "oidc-provider";

/** Where a request's pending revocations are kept on its Koa context. */
const PENDING = Symbol("support-ext.pending-revocations");

interface WithPending {
  [PENDING]?: Promise<unknown>[];
}

/**
 * The provider announces a revoked grant through an event it does not wait for; the session's
 * revocation (the row, the feed every service follows) would then race the answer. Registered
 * before the provider's routes, this holds the answer of the request that revoked until its
 * revocations are done: a client told "invalid_grant" for a reused refresh token finds its
 * session's access tokens already refused everywhere (docs/identity.md, "One issuer, one grant model").
 */
export function answerAfterRevocations(provider: Provider): void {
  provider.use(async (ctx, next) => {
    await next();
    const pending = (ctx as unknown as WithPending)[PENDING];
    // Failures are logged where each revocation was started; the answer stands either way.
    if (pending) await Promise.allSettled(pending);
  });
}

/** Makes the answer to the request of `ctx` wait for `revocation` (see answerAfterRevocations). */
export function holdAnswerFor(ctx: unknown, revocation: Promise<unknown>): void {
  if (!ctx || typeof ctx !== "object") return;
  const withPending = ctx as WithPending;
  if (withPending[PENDING] === undefined) withPending[PENDING] = [];
  withPending[PENDING].push(revocation);
}
