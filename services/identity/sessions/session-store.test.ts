import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "#kit/db/index.js";
import { type TestDatabase, testBackends } from "#kit/db/testing/test-backends.js";
import { IDENTITY_MIGRATIONS } from "../migrations.js";
import { createSessionStore, SESSION_REVOKED_CHANNEL, type SessionStore } from "./session-store.js";

/**
 * Login sessions as the identity database keeps them (docs/architecture.md, "Revocation"), on PGlite
 * and on DATABASE_URL's PostgreSQL: a session is recorded once per grant, revoked once (with one
 * notification, when it commits), found by its revocation time, and deleted only once it has ended.
 */
async function waitFor(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe.each(testBackends("identity", IDENTITY_MIGRATIONS))("the session store on $name", (backend) => {
  let handle: TestDatabase;
  let db: Database;
  let sessions: SessionStore;
  let userId: string;
  const inAnHour = () => new Date(Date.now() + 3_600_000);

  const newSession = async (expiresAt = inAnHour()) => {
    const id = randomUUID();
    await sessions.openForGrant(id, userId, expiresAt);
    return id;
  };

  beforeAll(async () => {
    handle = await backend.open();
    db = handle.db;
    userId = randomUUID();
    await db.query("INSERT INTO users (id, email, password_hash) VALUES ($1, $2, 'x')", [
      userId,
      `${userId}@test`,
    ]);
    sessions = createSessionStore(db);
  });
  afterAll(async () => {
    await handle?.close();
  });

  it("records a grant's session once: opening it again changes nothing", async () => {
    const ends = new Date("2031-01-01T00:00:00Z");
    const id = randomUUID();
    await sessions.openForGrant(id, userId, ends);
    await sessions.openForGrant(id, userId, new Date("2040-01-01T00:00:00Z"));
    expect(await sessions.find(id)).toEqual({ sessionId: id, userId, expiresAt: ends, revokedAt: undefined });
    expect(await sessions.find(randomUUID())).toBeUndefined();
  });

  it("revokes a session once: the second revocation, and one of an unknown session, answer undefined", async () => {
    const id = await newSession();
    expect(await sessions.revocationOf(id)).toBeUndefined();
    const revokedAt = await sessions.revoke(id, "logout");
    expect(revokedAt).toBeInstanceOf(Date);
    expect(await sessions.revoke(id, "admin")).toBeUndefined();
    expect(await sessions.revoke(randomUUID(), "admin")).toBeUndefined();
    // The first revocation stands, reason and time.
    expect(await sessions.revocationOf(id)).toEqual({ sessionId: id, revokedAt, reason: "logout" });
    expect((await sessions.find(id))?.revokedAt).toEqual(revokedAt);
  });

  it("notifies the revocation channel once per revocation, with the session id", async () => {
    const heard: string[] = [];
    const listening = await db.listen?.(SESSION_REVOKED_CHANNEL, (payload) => heard.push(payload));
    expect(listening).toBeDefined();
    try {
      const id = await newSession();
      const quiet = await newSession();
      await sessions.revoke(id, "logout");
      await sessions.revoke(id, "logout");
      // Another session revoked after: once it is heard, anything about `id` would have been too.
      const marker = await newSession();
      await sessions.revoke(marker, "logout");
      await waitFor(() => heard.includes(marker));
      expect(heard.filter((p) => p === id)).toEqual([id]);
      expect(heard).not.toContain(quiet);
    } finally {
      await listening?.close();
    }
  });

  it("lists the sessions revoked at or after a moment, and no unrevoked one", async () => {
    const before = await newSession();
    const after = await newSession();
    const never = await newSession();
    const first = (await sessions.revoke(before, "logout")) as Date;
    // The boundary is inclusive: the moment of a revocation finds it.
    expect((await sessions.revokedSince(first)).map((r) => r.sessionId)).toContain(before);
    await new Promise((r) => setTimeout(r, 5));
    const second = (await sessions.revoke(after, "refresh_token_reuse")) as Date;
    const since = await sessions.revokedSince(new Date(first.getTime() + 1));
    const ids = since.map((r) => r.sessionId);
    expect(ids).toContain(after);
    expect(ids).not.toContain(before);
    expect(ids).not.toContain(never);
    expect(since.find((r) => r.sessionId === after)).toEqual({
      sessionId: after,
      revokedAt: second,
      reason: "refresh_token_reuse",
    });
  });

  it("names an unknown reason when none was stored", async () => {
    const id = await newSession();
    await db.query("UPDATE sessions SET revoked_at = now() WHERE id = $1", [id]);
    expect((await sessions.revocationOf(id))?.reason).toBe("unknown");
  });

  it("deletes only the sessions that ended before the moment, revoked or not", async () => {
    const cut = new Date("2030-06-01T00:00:00Z");
    const ended = await newSession(new Date(cut.getTime() - 1));
    const endedRevoked = await newSession(new Date(cut.getTime() - 60_000));
    await sessions.revoke(endedRevoked, "logout");
    const endsAtCut = await newSession(cut);
    const live = await newSession(new Date(cut.getTime() + 60_000));
    const { rows } = await db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM sessions WHERE expires_at < $1",
      [cut.toISOString()],
    );
    expect(await sessions.deleteEndedBefore(cut)).toBe(rows[0]?.n);
    expect(await sessions.find(ended)).toBeUndefined();
    expect(await sessions.find(endedRevoked)).toBeUndefined();
    expect(await sessions.find(endsAtCut)).toBeDefined();
    expect(await sessions.find(live)).toBeDefined();
    expect(await sessions.deleteEndedBefore(cut)).toBe(0);
  });
});
