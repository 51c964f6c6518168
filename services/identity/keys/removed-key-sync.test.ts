import * as jose from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "#kit/db/index.js";
import { type TestDatabase, testBackends } from "#kit/db/testing/test-backends.js";
import { captureLogs } from "#kit/testing/log-capture.js";
import { IDENTITY_MIGRATIONS } from "../migrations.js";
import { createKeyRing } from "./key-ring.js";
import { keySealerFrom } from "./key-sealing.js";
import { createRemovedKeyList } from "./removed-key-list.js";
import { startRemovedKeySync } from "./removed-key-sync.js";
import { deleteSigningKey, generateSigningKey, insertSigningKey } from "./signing-key-store.js";

/**
 * How the identity provider hears a key removal (docs/identity.md, "Signing keys and rotation"):
 * the removal's NOTIFY reloads the key ring and puts the key on the feed's list — also when the
 * notice arrives while a reload is already under way that read the keys before the removal.
 */
const sealer = keySealerFrom({ SIGNING_KEY_SECRET: "test-sealing-secret-one" });

describe.each(testBackends("identity", IDENTITY_MIGRATIONS))("a key removal heard on $name", (backend) => {
  let handle: TestDatabase;
  let db: Database;
  beforeAll(async () => {
    handle = await backend.open();
    db = handle.db;
  });
  afterAll(async () => handle?.close());

  it("reaches the ring even when the notice comes while a reload that read the keys before the removal is still answering", async () => {
    const old = await generateSigningKey(new Date(Date.now() - 3_600_000));
    const next = await generateSigningKey(new Date(Date.now() - 60_000));
    await insertSigningKey(db, old, sealer);
    await insertSigningKey(db, next, sealer);
    // Reads of the keys answer only once released: a reload caught between its read and its answer.
    let hold: Promise<void> | undefined;
    const slow: Database = Object.create(db, {
      query: {
        value: async (sql: string, params?: readonly unknown[]) => {
          const res = await db.query(sql, params);
          if (hold && /FROM signing_keys\b/.test(sql)) await hold;
          return res;
        },
      },
    });
    const logs = captureLogs("identity");
    // Without `isRemoved`: what is under test is the ring's own reloads.
    const ring = await createKeyRing({
      db: slow,
      sealer,
      logger: logs.logger,
      reloadIntervalMs: 3_600_000,
      unknownKidCooldownMs: 60_000,
    });
    const list = createRemovedKeyList(86_400_000);
    let reloadsAsked = 0;
    const counted = {
      ...ring,
      reload: () => {
        reloadsAsked++;
        return ring.reload();
      },
    };
    const sync = await startRemovedKeySync({ db: slow, keyRing: counted, list, logger: logs.logger });
    try {
      let release!: () => void;
      hold = new Promise((r) => {
        release = r;
      });
      const periodic = ring.reload(); // the periodic reload: it has read both keys, its answer waits
      await new Promise((r) => setTimeout(r, 50));
      await deleteSigningKey(db, old.kid); // rotate-keys --remove: its NOTIFY asks for a reload now
      for (let i = 0; i < 500 && reloadsAsked === 0; i++) await new Promise((r) => setTimeout(r, 10));
      expect(reloadsAsked).toBe(1);
      hold = undefined;
      release();
      await periodic;
      // The reload the notice asked for runs after the periodic one (nothing else would for an hour),
      // and only then is the removal put on the list, which the feed sends.
      for (let i = 0; i < 500 && !list.has(old.kid); i++) await new Promise((r) => setTimeout(r, 10));
      expect(list.has(old.kid)).toBe(true);
      const forged = await new jose.SignJWT({ sub: "x" })
        .setProtectedHeader({ alg: old.alg, kid: old.kid })
        .sign(await jose.importJWK(old.privateJwk, old.alg));
      await expect(jose.jwtVerify(forged, ring.resolveKey)).rejects.toThrow();
      expect(ring.jwks().keys.map((k) => k.kid)).toEqual([next.kid]);
    } finally {
      await sync.stop();
      ring.close();
      await deleteSigningKey(db, next.kid);
    }
  });
});
