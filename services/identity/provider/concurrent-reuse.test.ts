import { EventEmitter } from "node:events";
import { errors, type Provider } from "oidc-provider";
import { describe, expect, it } from "vitest";
import { captureLogs } from "#kit/testing/log-capture.js";
import { revokeOnConcurrentReuse } from "./concurrent-reuse.js";
import { alreadyConsumedError } from "./storage/sql-adapter.js";

/** The provider's token-request context as its `grant.error` event carries it. */
const tokenRequest = (grantId: string | undefined) => ({
  oidc: { entities: grantId ? { RefreshToken: { grantId } } : {} },
});

/**
 * The policy alone, fed the provider's `grant.error` events (the provider is an EventEmitter): which
 * refusals end a grant. The race itself, through the real token endpoint and storage, is in
 * oauth/authorization-code-flow.test.ts and auth-flow.test.ts.
 */
describe("revokeOnConcurrentReuse", () => {
  const setUp = () => {
    const events = new EventEmitter();
    const revoked: [string, string][] = [];
    const logs = captureLogs("identity");
    revokeOnConcurrentReuse(
      events as unknown as Provider,
      async (sessionId, reason) => {
        revoked.push([sessionId, reason]);
      },
      logs.logger,
    );
    return { events, revoked, logs };
  };

  it("a refresh that lost the race to consume its token ends the token's grant as reuse", async () => {
    const { events, revoked, logs } = setUp();
    events.emit("grant.error", tokenRequest("grant-1"), alreadyConsumedError("RefreshToken"));
    await expect.poll(() => revoked).toEqual([["grant-1", "refresh_token_reuse"]]);
    await expect
      .poll(() => logs.lines.some((l) => l.includes("concurrent refresh token reuse: login session revoked")))
      .toBe(true);
  });

  it("other refusals, a lost code redemption, or a request with no refresh token end nothing", async () => {
    const { events, revoked } = setUp();
    events.emit("grant.error", tokenRequest("grant-2"), new errors.InvalidGrant("refresh token not found"));
    events.emit("grant.error", tokenRequest("grant-3"), alreadyConsumedError("AuthorizationCode"));
    events.emit("grant.error", tokenRequest(undefined), alreadyConsumedError("RefreshToken"));
    events.emit("grant.error", tokenRequest("grant-4"), new errors.InvalidRequest("bad"));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(revoked).toEqual([]);
  });
});
