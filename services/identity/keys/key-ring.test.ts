import * as jose from "jose";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import type { Database } from "#kit/db/index.js";
import { type TestDatabase, testBackends } from "#kit/db/testing/test-backends.js";
import { captureLogs } from "#kit/testing/log-capture.js";
import { IDENTITY_MIGRATIONS } from "../migrations.js";
import { createKeyRing, type KeyRing } from "./key-ring.js";
import { keySealerFrom } from "./key-sealing.js";
import {
  deleteSigningKey,
  generateSigningKey,
  insertSigningKey,
  type StoredSigningKey,
} from "./signing-key-store.js";

/**
 * The identity service's signing keys in memory (key-ring.ts), over its real database (PGlite in a
 * temporary DATA_DIR; a fresh schema on DATABASE_URL too): every stored key is published, the
 * newest whose `signs_from` has passed signs — so a key is in the JWKS before it signs —, a reload
 * picks up rotations and removals (other replicas, `npm run rotate-keys`), a token naming an unknown
 * kid causes one rate-limited reload, and a failed reload keeps the keys it had.
 */
const HOUR = 3_600_000;
const sealer = keySealerFrom({ SIGNING_KEY_SECRET: "test-sealing-secret-one" });
const at = (offsetMs: number) => new Date(Date.now() + offsetMs);

async function tokenBy(key: StoredSigningKey, sub = "user-1"): Promise<string> {
  const privateKey = await jose.importJWK(key.privateJwk, key.alg);
  return new jose.SignJWT({ sub })
    .setProtectedHeader({ alg: key.alg, kid: key.kid })
    .setIssuedAt()
    .setExpirationTime("5m")
    .sign(privateKey);
}

/** Whether the ring's resolver verifies `key`'s token. */
async function verifies(ring: KeyRing, key: StoredSigningKey): Promise<boolean> {
  try {
    await jose.jwtVerify(await tokenBy(key), ring.resolveKey);
    return true;
  } catch (err) {
    if (err instanceof jose.errors.JWKSNoMatchingKey) return false;
    throw err;
  }
}

const publishedKids = (ring: KeyRing) => ring.jwks().keys.map((k) => k.kid);

/** The signer at `when`: `signer()` reads the wall clock, so the clock is moved for that one call. */
function signerAt(ring: KeyRing, when: Date): string {
  vi.useFakeTimers({ toFake: ["Date"], now: when });
  try {
    return ring.signer().kid;
  } finally {
    vi.useRealTimers();
  }
}

describe.each(testBackends("identity", IDENTITY_MIGRATIONS))("the key ring on $name", (backend) => {
  let handle: TestDatabase;
  let db: Database;
  let ring: KeyRing | undefined;
  /** The database the next ring reads (the real one, or a wrapper counting its reads). */
  let ringDb: Database | undefined;
  const logs = captureLogs("identity");

  const open = (options: { reloadIntervalMs?: number; unknownKidCooldownMs?: number } = {}) =>
    createKeyRing({
      db: ringDb ?? db,
      sealer,
      logger: logs.logger,
      reloadIntervalMs: options.reloadIntervalMs ?? HOUR,
      unknownKidCooldownMs: options.unknownKidCooldownMs ?? 60_000,
    }).then((r) => {
      ring = r;
      return r;
    });
  /** Reads of the signing keys from here on, by whichever ring (`open` uses the counting database). */
  const countKeyReads = () => {
    const reads = { count: 0 };
    const real = db;
    const counting: Database = Object.create(real, {
      query: {
        value: (sql: string, params?: readonly unknown[]) => {
          if (/FROM signing_keys/.test(sql)) reads.count++;
          return real.query(sql, params);
        },
      },
    });
    ringDb = counting;
    return reads;
  };
  const stored = async (signsFrom: Date) => {
    const key = await generateSigningKey(signsFrom);
    await insertSigningKey(db, key, sealer);
    return key;
  };

  beforeAll(async () => {
    handle = await backend.open();
    db = handle.db;
  });
  afterAll(async () => {
    await handle?.close();
  });
  beforeEach(async () => {
    await db.query("DELETE FROM signing_keys");
  });
  afterEach(() => {
    ring?.close();
    ring = undefined;
    ringDb = undefined;
  });

  it("with no stored key publishes nothing and refuses to sign", async () => {
    const r = await open();
    expect(r.jwks()).toEqual({ keys: [] });
    expect(() => r.signer()).toThrow(/no signing key is active/);
  });

  it("publishes a scheduled key before it signs: the current key signs until the new one's time", async () => {
    const current = await stored(at(-HOUR));
    const scheduled = await stored(at(HOUR));
    const r = await open();

    expect(publishedKids(r).sort()).toEqual([current.kid, scheduled.kid].sort());
    expect(r.signer().kid).toBe(current.kid);
    // Verifiers that fetched the JWKS now already hold the scheduled key when it starts signing.
    expect(await verifies(r, scheduled)).toBe(true);
    expect(signerAt(r, at(HOUR + 1_000))).toBe(scheduled.kid);
    expect(signerAt(r, at(HOUR - 1_000))).toBe(current.kid);
  });

  it("signs with a key the JWKS publishes, and its signature verifies against that JWKS", async () => {
    await stored(at(-HOUR));
    const r = await open();
    const signer = r.signer();
    expect(publishedKids(r)).toContain(signer.kid);
    const token = await new jose.SignJWT({ sub: "user-1" })
      .setProtectedHeader({ alg: signer.alg, kid: signer.kid })
      .setExpirationTime("5m")
      .sign(signer.key);
    const { protectedHeader } = await jose.jwtVerify(token, jose.createLocalJWKSet(r.jwks()));
    expect(protectedHeader.kid).toBe(signer.kid);
    // The authorization server's keystore holds the same key with its private half.
    const inKeystore = r.privateJwks().find((k) => k.kid === signer.kid);
    expect(inKeystore).toMatchObject({ kid: signer.kid, alg: "ES256", use: "sig" });
    expect(inKeystore?.d).toBeDefined();
  });

  it("picks up a rotation on reload: the new key signs, the old one still verifies", async () => {
    const old = await stored(at(-2 * HOUR));
    const r = await open();
    const changed = vi.fn();
    const removed = vi.fn();
    r.onKeysChanged(changed);
    r.onKeysRemoved(removed);

    // Rotated elsewhere (another replica, the CLI): nothing changes here until a reload.
    const rotated = await stored(at(-1_000));
    expect(r.signer().kid).toBe(old.kid);
    expect(publishedKids(r)).toEqual([old.kid]);

    expect(await r.reload()).toEqual([]);
    expect(r.signer().kid).toBe(rotated.kid);
    expect(publishedKids(r).sort()).toEqual([old.kid, rotated.kid].sort());
    expect(await verifies(r, old)).toBe(true);
    expect(await verifies(r, rotated)).toBe(true);
    expect(changed).toHaveBeenCalledTimes(1);
    expect(removed).not.toHaveBeenCalled();

    // A reload that finds nothing new announces nothing.
    expect(await r.reload()).toEqual([]);
    expect(changed).toHaveBeenCalledTimes(1);
  });

  it("on reload drops a removed key: unpublished, its tokens refused, its kid reported", async () => {
    const old = await stored(at(-2 * HOUR));
    const current = await stored(at(-HOUR));
    const r = await open();
    const changed = vi.fn();
    const removed = vi.fn();
    r.onKeysChanged(changed);
    r.onKeysRemoved(removed);
    expect(await verifies(r, old)).toBe(true);

    expect(await deleteSigningKey(db, old.kid)).toBe(true);
    expect(await r.reload()).toEqual([old.kid]);
    expect(removed).toHaveBeenCalledWith([old.kid]);
    expect(changed).toHaveBeenCalledTimes(1);
    expect(publishedKids(r)).toEqual([current.kid]);
    expect(r.privateJwks().map((k) => k.kid)).toEqual([current.kid]);
    expect(await verifies(r, old)).toBe(false);
    expect(r.signer().kid).toBe(current.kid);
  });

  it("overlapping reloads: one read, and one more after it shared by every reload asked for meanwhile (it may be for a change the first read came too early for); a change announced once", async () => {
    await stored(at(-HOUR));
    const reads = countKeyReads();
    const r = await open();
    const changed = vi.fn();
    r.onKeysChanged(changed);
    const added = await stored(at(-1_000));
    const before = reads.count;
    const results = await Promise.all([r.reload(), r.reload(), r.reload(), r.reload()]);
    expect(results).toEqual([[], [], [], []]);
    expect(reads.count - before).toBe(2);
    expect(changed).toHaveBeenCalledTimes(1);
    expect(r.signer().kid).toBe(added.kid);
  });

  it("garbage kids cannot hammer the database: unknown kids cost one read per cooldown", async () => {
    await stored(at(-HOUR));
    const reads = countKeyReads();
    const r = await open({ unknownKidCooldownMs: 60_000 });
    const before = reads.count;
    const strangers = await Promise.all(Array.from({ length: 5 }, () => generateSigningKey(at(-HOUR))));
    for (const stranger of strangers) expect(await verifies(r, stranger)).toBe(false);
    const burst = await Promise.all(strangers.map((stranger) => verifies(r, stranger)));
    expect(burst).toEqual(strangers.map(() => false));
    expect(reads.count - before).toBe(1);
  });

  it("reloads for a token naming an unknown kid, at most once per cooldown", async () => {
    await stored(at(-HOUR));
    const r = await open({ unknownKidCooldownMs: 60_000 });
    const fromReplica = await stored(at(-1_000)); // written by another replica: not reloaded yet
    expect(await verifies(r, fromReplica)).toBe(true);

    // A second unknown kid within the cooldown is refused without reading the database.
    const another = await stored(at(-500));
    expect(await verifies(r, another)).toBe(false);
    expect(publishedKids(r)).not.toContain(another.kid);
    // An explicit reload still sees it.
    await r.reload();
    expect(await verifies(r, another)).toBe(true);
  });

  it("refuses a kid that is nowhere, after its one reload", async () => {
    await stored(at(-HOUR));
    const r = await open({ unknownKidCooldownMs: 0 });
    const stranger = await generateSigningKey(at(-HOUR)); // never stored
    expect(await verifies(r, stranger)).toBe(false);
  });

  it("reloads by itself every reloadIntervalMs", { timeout: 30_000 }, async () => {
    const first = await stored(at(-HOUR));
    const r = await open({ reloadIntervalMs: 50 });
    const removed = new Promise<readonly string[]>((resolve) => r.onKeysRemoved(resolve));
    const next = await stored(at(-1_000));
    await expect.poll(() => publishedKids(r), { timeout: 20_000 }).toContain(next.kid);
    expect(r.signer().kid).toBe(next.kid);
    await deleteSigningKey(db, first.kid);
    expect(await removed).toEqual([first.kid]);
  });

  it("keeps its keys when a reload fails", async () => {
    const current = await stored(at(-HOUR));
    const r = await open();
    await db.query("ALTER TABLE signing_keys RENAME TO signing_keys_away");
    try {
      await expect(r.reload()).rejects.toThrow();
      expect(r.signer().kid).toBe(current.kid);
      expect(publishedKids(r)).toEqual([current.kid]);
      expect(await verifies(r, current)).toBe(true);
    } finally {
      await db.query("ALTER TABLE signing_keys_away RENAME TO signing_keys");
    }
    // And the next reload works again.
    expect(await r.reload()).toEqual([]);
  });
});
