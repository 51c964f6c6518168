import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { AdapterConstructor } from "oidc-provider";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "#kit/db/index.js";
import { type TestDatabase, testBackends } from "#kit/db/testing/test-backends.js";
import { deleteExpired } from "./delete-expired.js";
import { OIDC_MIGRATIONS } from "./oidc-migrations.js";
import { createSqlAdapterClass, GRANT_BOUND_MODELS } from "./sql-adapter.js";

/** Lifetime of rows that must expire during a test, and how long to wait for that. */
const SHORT_TTL_S = 0.2;
const PAST_SHORT_TTL_MS = 400;

const epochNow = () => Math.floor(Date.now() / 1000);

/** The error the provider turns into its JSON error response. */
const providerError = (error: string) => expect.objectContaining({ error, status: 400 });

describe.each(testBackends("identity", OIDC_MIGRATIONS))(
  "oidc-provider adapter contract on $name",
  (backend) => {
    let handle: TestDatabase;
    let db: Database;
    let Adapter: AdapterConstructor;

    beforeAll(async () => {
      handle = await backend.open();
      db = handle.db;
      Adapter = createSqlAdapterClass(db);
    });
    afterAll(async () => {
      await handle?.close();
    });

    it("upsert then find returns the payload, per model", async () => {
      const tokens = new Adapter("AccessToken");
      const id = randomUUID();
      const payload = {
        jti: id,
        kind: "AccessToken",
        clientId: "svc",
        scope: "a b",
        aud: ["x"],
        iat: 1,
        exp: 2,
      };
      await tokens.upsert(id, payload, 60);
      expect(await tokens.find(id)).toEqual(payload);
      // The same id under another model is another row.
      expect(await new Adapter("RefreshToken").find(id)).toBeUndefined();
      expect(await tokens.find(randomUUID())).toBeUndefined();
      // The provider's own `__proto__` handling (a payload key, not the prototype) survives jsonb.
      const odd = JSON.parse('{"jti":"p","__proto__":{"polluted":true}}') as Record<string, unknown>;
      await tokens.upsert("p-id", odd, 60);
      const back = await tokens.find("p-id");
      expect(Object.hasOwn(back ?? {}, "__proto__")).toBe(true);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it("refuses a payload jsonb cannot hold (U+0000) as the client's invalid_request, storing nothing", async () => {
      const interactions = new Adapter("Interaction");
      for (const params of [{ state: "a\u0000b" }, { "x\u0000": "y" }]) {
        await expect(interactions.upsert("nul", { jti: "nul", params }, 60)).rejects.toEqual(
          providerError("invalid_request"),
        );
      }
      expect(await interactions.find("nul")).toBeUndefined();
    });

    it("never returns an expired row, and keeps rows stored without a lifetime", async () => {
      const sessions = new Adapter("Session");
      const codes = new Adapter("DeviceCode");
      const [shortId, foreverId, codeId] = [randomUUID(), randomUUID(), randomUUID()];
      const uid = randomUUID();
      const userCode = `UC-${randomUUID()}`;
      await sessions.upsert(shortId, { jti: shortId, uid }, SHORT_TTL_S);
      await codes.upsert(codeId, { jti: codeId, userCode, grantId: "g" }, SHORT_TTL_S);
      await new Adapter("Client").upsert(foreverId, { client_id: foreverId });
      expect(await sessions.find(shortId)).toBeDefined();
      expect(await codes.findByUserCode(userCode)).toBeDefined();

      await sleep(PAST_SHORT_TTL_MS);
      expect(await sessions.find(shortId)).toBeUndefined();
      expect(await sessions.findByUid(uid)).toBeUndefined();
      expect(await codes.find(codeId)).toBeUndefined();
      expect(await codes.findByUserCode(userCode)).toBeUndefined();
      // An expired code cannot be consumed either.
      await expect(codes.consume(codeId)).rejects.toEqual(providerError("invalid_grant"));
      expect(await new Adapter("Client").find(foreverId)).toEqual({ client_id: foreverId });
    });

    it("consume marks the row consumed: `consumed` in epoch seconds, the rest unchanged", async () => {
      const codes = new Adapter("AuthorizationCode");
      const id = randomUUID();
      const payload = { jti: id, kind: "AuthorizationCode", grantId: randomUUID(), clientId: "svc" };
      await codes.upsert(id, payload, 60);
      expect((await codes.find(id))?.consumed).toBeUndefined();

      const before = epochNow();
      await codes.consume(id);
      const found = await codes.find(id);
      expect(found).toEqual({ ...payload, consumed: expect.any(Number) });
      expect(found?.consumed).toBeGreaterThanOrEqual(before);
      expect(found?.consumed).toBeLessThanOrEqual(epochNow());

      // Consuming twice, or consuming nothing, is refused the way the provider refuses a replay.
      await expect(codes.consume(id)).rejects.toEqual(providerError("invalid_grant"));
      await expect(codes.consume(randomUUID())).rejects.toEqual(providerError("invalid_grant"));
    });

    it("concurrent consumes of one row: exactly one wins, the others get the provider's replay error", async () => {
      const tokens = new Adapter("RefreshToken");
      const id = randomUUID();
      await tokens.upsert(id, { jti: id, grantId: randomUUID() }, 60);
      const results = await Promise.allSettled(Array.from({ length: 20 }, () => tokens.consume(id)));
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      for (const r of results.filter((r) => r.status === "rejected")) {
        expect(r.reason).toEqual(providerError("invalid_grant"));
      }
      expect((await tokens.find(id))?.consumed).toEqual(expect.any(Number));

      const par = new Adapter("PushedAuthorizationRequest");
      await par.upsert("par-1", { jti: "par-1" }, 60);
      const parResults = await Promise.allSettled([par.consume("par-1"), par.consume("par-1")]);
      expect(parResults.map((r) => r.status).sort()).toEqual(["fulfilled", "rejected"]);
      const lost = parResults.find((r) => r.status === "rejected");
      expect(lost?.status === "rejected" && lost.reason).toEqual(providerError("invalid_request_uri"));
    });

    it("findByUid finds the Session by its uid, only for the Session model", async () => {
      const sessions = new Adapter("Session");
      const id = randomUUID();
      const uid = randomUUID();
      await sessions.upsert(id, { jti: id, uid, kind: "Session", accountId: "u1" }, 60);
      expect(await sessions.findByUid(uid)).toEqual({ jti: id, uid, kind: "Session", accountId: "u1" });
      expect(await sessions.findByUid(randomUUID())).toBeUndefined();
      // An Interaction's payload may carry the same uid: it is not a Session.
      await new Adapter("Interaction").upsert(randomUUID(), { uid: "only-interaction" }, 60);
      expect(await sessions.findByUid("only-interaction")).toBeUndefined();
    });

    it("findByUserCode finds the DeviceCode by its user code", async () => {
      const codes = new Adapter("DeviceCode");
      const id = randomUUID();
      const userCode = `WDJB-${randomUUID().slice(0, 4)}`;
      await codes.upsert(id, { jti: id, userCode, params: { client_id: "tv" } }, 60);
      expect(await codes.findByUserCode(userCode)).toEqual({
        jti: id,
        userCode,
        params: { client_id: "tv" },
      });
      expect(await codes.findByUserCode("NOPE-NOPE")).toBeUndefined();
    });

    it("revokeByGrantId removes every grant-bound row of that grant, of all models, and nothing else", async () => {
      const grantId = randomUUID();
      const otherGrantId = randomUUID();
      const ids = (grant: string) => GRANT_BOUND_MODELS.map((model) => ({ model, id: `${model}-${grant}` }));
      for (const grant of [grantId, otherGrantId]) {
        for (const { model, id } of ids(grant))
          await new Adapter(model).upsert(id, { jti: id, grantId: grant }, 60);
      }
      // Rows that name the grant but are not grant-bound: the Grant itself (its id is the grant id),
      // an Interaction that led to it.
      await new Adapter("Grant").upsert(grantId, { jti: grantId, accountId: "u1", clientId: "svc" }, 60);
      await new Adapter("Interaction").upsert("i-1", { jti: "i-1", grantId }, 60);

      // Called on one model's adapter, it clears all of them.
      await new Adapter("AccessToken").revokeByGrantId(grantId);

      for (const { model, id } of ids(grantId)) expect(await new Adapter(model).find(id)).toBeUndefined();
      for (const { model, id } of ids(otherGrantId)) expect(await new Adapter(model).find(id)).toBeDefined();
      expect(await new Adapter("Grant").find(grantId)).toBeDefined();
      expect(await new Adapter("Interaction").find("i-1")).toBeDefined();
    });

    it("revokeByGrantId on every grant-bound model at once, as the provider's revoke does", async () => {
      const grantId = randomUUID();
      for (const model of GRANT_BOUND_MODELS) {
        for (let i = 0; i < 5; i += 1)
          await new Adapter(model).upsert(`${model}-${grantId}-${i}`, { grantId }, 60);
      }
      await Promise.all(GRANT_BOUND_MODELS.map((model) => new Adapter(model).revokeByGrantId(grantId)));
      const { rows } = await db.query<{ n: number }>(
        "SELECT count(*) AS n FROM oidc_models WHERE grant_id = $1",
        [grantId],
      );
      expect(rows[0]?.n).toBe(0);
    });

    it("destroy removes the row, of that model only", async () => {
      const id = randomUUID();
      await new Adapter("Interaction").upsert(id, { jti: id }, 60);
      await new Adapter("Session").upsert(id, { jti: id, uid: id }, 60);
      await new Adapter("Interaction").destroy(id);
      expect(await new Adapter("Interaction").find(id)).toBeUndefined();
      expect(await new Adapter("Session").find(id)).toBeDefined();
      await new Adapter("Interaction").destroy(id); // destroying what is gone is not an error
    });

    it("upsert overwrites payload, lookups and lifetime; a consumed row stays consumed", async () => {
      const sessions = new Adapter("Session");
      const id = randomUUID();
      const [oldUid, newUid] = [randomUUID(), randomUUID()];
      await sessions.upsert(id, { jti: id, uid: oldUid, accountId: "u1", state: { a: 1 } }, SHORT_TTL_S);
      await sessions.upsert(id, { jti: id, uid: newUid, accountId: "u2" }, 60);
      expect(await sessions.find(id)).toEqual({ jti: id, uid: newUid, accountId: "u2" });
      expect(await sessions.findByUid(oldUid)).toBeUndefined();
      await sleep(PAST_SHORT_TTL_MS);
      expect(await sessions.findByUid(newUid)).toBeDefined(); // the new lifetime replaced the old

      // A late re-save of a spent refresh token (its payload from before the consume) must not
      // make it usable again.
      const tokens = new Adapter("RefreshToken");
      const rt = randomUUID();
      await tokens.upsert(rt, { jti: rt, rotations: 0 }, 60);
      await tokens.consume(rt);
      await tokens.upsert(rt, { jti: rt, rotations: 1 }, 60);
      expect(await tokens.find(rt)).toEqual({ jti: rt, rotations: 1, consumed: expect.any(Number) });
      // A payload saved as consumed is stored consumed.
      const code = randomUUID();
      await new Adapter("AuthorizationCode").upsert(code, { jti: code, consumed: 1_700_000_000 }, 60);
      expect((await new Adapter("AuthorizationCode").find(code))?.consumed).toBe(1_700_000_000);
    });

    it("deleteExpired removes expired rows only, at most `limit` per call", async () => {
      while ((await deleteExpired(db)) > 0);
      const live = randomUUID();
      await new Adapter("AccessToken").upsert(live, { jti: live }, 60);
      await new Adapter("Client").upsert(live, { client_id: live });
      for (let i = 0; i < 5; i += 1) await new Adapter("AccessToken").upsert(`gone-${i}`, {}, SHORT_TTL_S);
      expect(await deleteExpired(db)).toBe(0);

      await sleep(PAST_SHORT_TTL_MS);
      expect([await deleteExpired(db, 2), await deleteExpired(db, 2), await deleteExpired(db, 2)]).toEqual([
        2, 2, 1,
      ]);
      expect(await deleteExpired(db)).toBe(0);
      expect(await new Adapter("AccessToken").find(live)).toBeDefined();
      expect(await new Adapter("Client").find(live)).toBeDefined();
      await expect(deleteExpired(db, 0)).rejects.toThrow(RangeError);
    });
  },
);
