import * as jose from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "#kit/db/index.js";
import { type TestDatabase, testBackends } from "#kit/db/testing/test-backends.js";
import { IDENTITY_MIGRATIONS } from "../migrations.js";
import {
  currentSigningKey,
  deleteSigningKey,
  ensureSigningKey,
  generateSigningKey,
  insertSigningKey,
  listSigningKeys,
  SIGNING_ALG,
  type StoredSigningKey,
  supersededAt,
} from "./signing-key-store.js";

/**
 * The identity service's signing keys (docs/identity.md, "Signing keys"), stored on PGlite and on
 * DATABASE_URL's PostgreSQL: a key names itself by its thumbprint and publishes no private part, the
 * newest key whose `signs_from` has passed signs, a key is superseded when a later one starts, a
 * removed key is gone once, and replicas starting together mint one first key between them.
 */
const T0 = new Date("2030-01-01T00:00:00Z");
const plus = (ms: number) => new Date(T0.getTime() + ms);
const HOUR = 3_600_000;

/** A key record for the pure functions: only `signsFrom` matters to them. */
const keyFrom = (kid: string, signsFrom: Date) => ({ kid, signsFrom }) as StoredSigningKey;

describe("choosing the signing key", () => {
  const old = keyFrom("old", plus(0));
  const current = keyFrom("current", plus(HOUR));
  const future = keyFrom("future", plus(2 * HOUR));
  const keys = [future, old, current];

  it("signs with the newest key whose start has passed, never a future one", () => {
    expect(currentSigningKey(keys, plus(HOUR - 1))?.kid).toBe("old");
    expect(currentSigningKey(keys, plus(HOUR))?.kid).toBe("current");
    expect(currentSigningKey(keys, plus(2 * HOUR - 1))?.kid).toBe("current");
    expect(currentSigningKey(keys, plus(2 * HOUR))?.kid).toBe("future");
    expect(currentSigningKey(keys, plus(-1))).toBeUndefined();
    expect(currentSigningKey([], plus(0))).toBeUndefined();
  });

  it("dates a key's end at the start of the first later key that has started, and not before", () => {
    expect(supersededAt(old, keys, plus(HOUR - 1))).toBeUndefined();
    expect(supersededAt(old, keys, plus(3 * HOUR))).toEqual(plus(HOUR));
    expect(supersededAt(current, keys, plus(2 * HOUR - 1))).toBeUndefined();
    expect(supersededAt(current, keys, plus(2 * HOUR))).toEqual(plus(2 * HOUR));
    expect(supersededAt(future, keys, plus(3 * HOUR))).toBeUndefined();
  });
});

describe("a generated signing key", () => {
  it("is named by its RFC 7638 thumbprint and publishes no private part", async () => {
    const key = await generateSigningKey(T0);
    expect(key.alg).toBe(SIGNING_ALG);
    expect(key.signsFrom).toEqual(T0);
    const { kid: _k, alg: _a, use: _u, ...bare } = key.publicJwk;
    expect(key.kid).toBe(await jose.calculateJwkThumbprint(bare));
    expect(key.publicJwk).toMatchObject({ kid: key.kid, alg: SIGNING_ALG, use: "sig" });
    expect(key.publicJwk).not.toHaveProperty("d");
    expect(key.privateJwk).toHaveProperty("d");
    // The two halves belong together.
    const token = await new jose.SignJWT({})
      .setProtectedHeader({ alg: key.alg, kid: key.kid })
      .sign(await jose.importJWK(key.privateJwk, key.alg));
    await expect(
      jose.compactVerify(token, await jose.importJWK(key.publicJwk, key.alg)),
    ).resolves.toBeDefined();
    expect((await generateSigningKey(T0)).kid).not.toBe(key.kid);
  });
});

describe.each(testBackends("identity", IDENTITY_MIGRATIONS))("stored signing keys on $name", (backend) => {
  let handle: TestDatabase;
  let db: Database;

  beforeAll(async () => {
    handle = await backend.open();
    db = handle.db;
  });
  afterAll(async () => {
    await handle?.close();
  });

  it("mints one first key, even when replicas start together, and none on a later start", async () => {
    const minted = await Promise.all(Array.from({ length: 4 }, () => ensureSigningKey(db)));
    const made = minted.filter((k) => k !== undefined);
    expect(made).toHaveLength(1);
    expect((await listSigningKeys(db)).map((k) => k.kid)).toEqual([made[0]?.kid]);
    expect(await ensureSigningKey(db)).toBeUndefined();
    expect(await listSigningKeys(db)).toHaveLength(1);
  });

  it("lists keys by start, and by creation among keys starting together, as they were stored", async () => {
    for (const k of await listSigningKeys(db)) await deleteSigningKey(db, k.kid);
    const late = { ...(await generateSigningKey(plus(2 * HOUR))), createdAt: plus(0) };
    const early = { ...(await generateSigningKey(plus(0))), createdAt: plus(2) };
    // Named so that their kids sort the other way round from their creation.
    const sameStartNewer = {
      ...(await generateSigningKey(plus(HOUR))),
      kid: "a-created-later",
      createdAt: plus(3),
    };
    const sameStartOlder = {
      ...(await generateSigningKey(plus(HOUR))),
      kid: "b-created-first",
      createdAt: plus(1),
    };
    for (const k of [late, early, sameStartNewer, sameStartOlder]) await insertSigningKey(db, k);
    const listed = await listSigningKeys(db);
    expect(listed.map((k) => k.kid)).toEqual([early.kid, sameStartOlder.kid, sameStartNewer.kid, late.kid]);
    expect(listed[0]).toEqual(early);
  });

  it("removes a key once; removing it again, or an unknown kid, removes nothing", async () => {
    const key = await generateSigningKey(plus(0));
    await insertSigningKey(db, key);
    const others = (await listSigningKeys(db)).length - 1;
    expect(await deleteSigningKey(db, key.kid)).toBe(true);
    expect(await deleteSigningKey(db, key.kid)).toBe(false);
    expect(await deleteSigningKey(db, "no-such-kid")).toBe(false);
    const left = await listSigningKeys(db);
    expect(left).toHaveLength(others);
    expect(left.map((k) => k.kid)).not.toContain(key.kid);
  });

  it("refuses a second key under the same kid", async () => {
    const key = await generateSigningKey(plus(0));
    await insertSigningKey(db, key);
    await expect(insertSigningKey(db, { ...key, signsFrom: plus(HOUR) })).rejects.toThrow();
    expect((await listSigningKeys(db)).filter((k) => k.kid === key.kid)).toHaveLength(1);
  });
});
