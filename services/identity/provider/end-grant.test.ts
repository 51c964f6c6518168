import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestDatabase, testBackends } from "#kit/db/testing/test-backends.js";
import { endingGrantsToo } from "./end-grant.js";
import { OIDC_MIGRATIONS } from "./storage/oidc-migrations.js";

/**
 * Ending a login session ends its grant (docs/identity.md, "Revocation"): the grant and every
 * credential of it go — and an authorization request under way that names it stays. The provider
 * keeps the session's grant for a client on that client's Interaction; when a second person signs
 * in to the same client in the same browser, the provider ends the first's session (and so this
 * grant) and then resumes that very Interaction: deleted with the grant, the second person's
 * sign-in failed with "interaction session not found" (seen in Chromium, examples/extension).
 */
describe.each(testBackends("identity", OIDC_MIGRATIONS))("ending a grant on $name", (backend) => {
  let handle: TestDatabase;
  beforeAll(async () => {
    handle = await backend.open();
  });
  afterAll(async () => {
    await handle?.close();
  });

  it("deletes the grant and its tokens and codes, keeps an Interaction that names it", async () => {
    const { db } = handle;
    const rows: [string, string, string | null][] = [
      ["Grant", "g-1", null],
      ["AccessToken", "sha256:at", "g-1"],
      ["RefreshToken", "sha256:rt", "g-1"],
      ["AuthorizationCode", "sha256:code", "g-1"],
      ["Interaction", "i-1", "g-1"],
      ["AccessToken", "sha256:other", "g-2"],
    ];
    for (const [model, id, grantId] of rows) {
      await db.query(
        "INSERT INTO oidc_models (model, id, payload, grant_id) VALUES ($1, $2, '{}'::jsonb, $3)",
        [model, id, grantId],
      );
    }
    const revoked: string[] = [];
    await endingGrantsToo(async (sessionId) => {
      revoked.push(sessionId);
    }, db)("g-1", "logout");
    expect(revoked).toEqual(["g-1"]);
    const left = await db.query<{ model: string; id: string }>(
      "SELECT model, id FROM oidc_models ORDER BY model, id",
    );
    expect(left.rows).toEqual([
      { model: "AccessToken", id: "sha256:other" },
      { model: "Interaction", id: "i-1" },
    ]);
  });
});
