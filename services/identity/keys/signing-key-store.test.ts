import * as jose from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Database } from "#kit/db/index.js";
import { type TestDatabase, testBackends } from "#kit/db/testing/test-backends.js";
import { CannotStartError } from "#kit/process/index.js";
import { IDENTITY_MIGRATIONS } from "../migrations.js";
import { runKeyCommand } from "./key-commands.js";
import { keySealerFrom } from "./key-sealing.js";
import {
  currentSigningKey,
  deleteSigningKey,
  ensureSigningKey,
  generateSigningKey,
  insertSigningKey,
  listSigningKeyInfo,
  listSigningKeys,
  resealSigningKeys,
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
const sealer = keySealerFrom({ SIGNING_KEY_SECRET: "test-sealing-secret-one" });

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
    const minted = await Promise.all(Array.from({ length: 4 }, () => ensureSigningKey(db, sealer)));
    const made = minted.filter((k) => k !== undefined);
    expect(made).toHaveLength(1);
    expect((await listSigningKeys(db, sealer)).map((k) => k.kid)).toEqual([made[0]?.kid]);
    expect(await ensureSigningKey(db, sealer)).toBeUndefined();
    expect(await listSigningKeys(db, sealer)).toHaveLength(1);
  });

  it("lists keys by start, and by creation among keys starting together, as they were stored", async () => {
    for (const k of await listSigningKeys(db, sealer)) await deleteSigningKey(db, k.kid);
    const late = { ...(await generateSigningKey(plus(2 * HOUR))), createdAt: plus(0) };
    const early = { ...(await generateSigningKey(plus(0))), createdAt: plus(2) };
    // Created so that their kids sort the other way round from their creation.
    const [higher, lower] = (
      await Promise.all([generateSigningKey(plus(HOUR)), generateSigningKey(plus(HOUR))])
    ).sort((a, b) => (a.kid < b.kid ? 1 : -1));
    if (!higher || !lower) throw new Error("two keys expected");
    const sameStartOlder = { ...higher, createdAt: plus(1) };
    const sameStartNewer = { ...lower, createdAt: plus(3) };
    for (const k of [late, early, sameStartNewer, sameStartOlder]) await insertSigningKey(db, k, sealer);
    const listed = await listSigningKeys(db, sealer);
    expect(listed.map((k) => k.kid)).toEqual([early.kid, sameStartOlder.kid, sameStartNewer.kid, late.kid]);
    expect(listed[0]).toEqual(early);
  });

  it("removes a key once; removing it again, or an unknown kid, removes nothing", async () => {
    const key = await generateSigningKey(plus(0));
    await insertSigningKey(db, key, sealer);
    const others = (await listSigningKeys(db, sealer)).length - 1;
    expect(await deleteSigningKey(db, key.kid)).toBe(true);
    expect(await deleteSigningKey(db, key.kid)).toBe(false);
    expect(await deleteSigningKey(db, "no-such-kid")).toBe(false);
    const left = await listSigningKeys(db, sealer);
    expect(left).toHaveLength(others);
    expect(left.map((k) => k.kid)).not.toContain(key.kid);
  });

  it("keeps every private key sealed at rest: the row holds a JWE naming its key, never the JWK's private members", async () => {
    const key = await generateSigningKey(plus(0));
    await insertSigningKey(db, key, sealer);
    const { rows } = await db.query<{ kind: string; clear: boolean; text: string }>(
      "SELECT jsonb_typeof(private_jwk) AS kind, private_jwk ? 'd' AS clear, private_jwk::text AS text FROM signing_keys WHERE kid = $1",
      [key.kid],
    );
    expect(rows[0]?.kind).toBe("string");
    expect(rows[0]?.clear).toBe(false);
    expect(rows[0]?.text).not.toContain(key.privateJwk.d ?? "no private member");
    const jwe = JSON.parse(rows[0]?.text ?? '""') as string;
    expect(jose.decodeProtectedHeader(jwe)).toMatchObject({
      alg: "dir",
      enc: "A256GCM",
      signing_kid: key.kid,
    });
    // And it opens to the very key that was stored.
    expect((await listSigningKeys(db, sealer)).find((k) => k.kid === key.kid)?.privateJwk).toEqual(
      key.privateJwk,
    );
  });

  it("reseals keys stored in clear or under the previous secret; refuses a key no configured secret opens, and a sealed key moved to another row", async () => {
    for (const k of await listSigningKeyInfo(db)) await deleteSigningKey(db, k.kid);
    const inClear = await generateSigningKey(plus(0));
    const underOld = await generateSigningKey(plus(1));
    // A row from before sealing existed, and one sealed before the secret was changed.
    await db.query(
      "INSERT INTO signing_keys (kid, alg, public_jwk, private_jwk, created_at, signs_from) VALUES ($1, $2, $3, $4, now(), $5)",
      [
        inClear.kid,
        inClear.alg,
        JSON.stringify(inClear.publicJwk),
        JSON.stringify(inClear.privateJwk),
        plus(0).toISOString(),
      ],
    );
    await insertSigningKey(db, underOld, sealer);
    const rotated = keySealerFrom({
      SIGNING_KEY_SECRET: "test-sealing-secret-two",
      SIGNING_KEY_SECRET_PREVIOUS: "test-sealing-secret-one",
    });
    expect((await resealSigningKeys(db, rotated)).sort()).toEqual([inClear.kid, underOld.kid].sort());
    expect(await resealSigningKeys(db, rotated)).toEqual([]); // done once
    const opened = await listSigningKeys(
      db,
      keySealerFrom({ SIGNING_KEY_SECRET: "test-sealing-secret-two" }),
    );
    expect(opened.map((k) => k.privateJwk)).toEqual([inClear.privateJwk, underOld.privateJwk]);

    // Without the secret they are sealed with: one line naming the key and the fix.
    const failure = await listSigningKeys(db, sealer).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(CannotStartError);
    expect(String((failure as Error).message)).toMatch(
      /^identity cannot start: signing key \S+ is sealed with a secret that is neither SIGNING_KEY_SECRET nor SIGNING_KEY_SECRET_PREVIOUS\. Set SIGNING_KEY_SECRET .* replicas sharing a database share one/,
    );

    // One row's sealed key copied into another row does not open there.
    await db.query(
      "UPDATE signing_keys SET private_jwk = (SELECT private_jwk FROM signing_keys WHERE kid = $1) WHERE kid = $2",
      [inClear.kid, underOld.kid],
    );
    const moved = await listSigningKeys(db, rotated).catch((e: unknown) => e);
    expect(String((moved as Error).message)).toBe(
      `identity cannot start: the row of signing key ${underOld.kid} holds the sealed key of ${inClear.kid}. Remove the key (npm run rotate-keys -- --remove ${underOld.kid}).`,
    );
    for (const k of [inClear, underOld]) await deleteSigningKey(db, k.kid);
  });

  it("holds a row's halves together: a public key swapped under a trusted kid, a pair in clear written after the start, or junk, is never used — the start says which key and the fix, a running reload leaves it out", async () => {
    for (const k of await listSigningKeyInfo(db)) await deleteSigningKey(db, k.kid);
    const genuine = await generateSigningKey(plus(0));
    await insertSigningKey(db, genuine, sealer);
    const theirs = await generateSigningKey(plus(0));
    const refusal = async () => {
      const err = await listSigningKeys(db, sealer).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CannotStartError);
      return (err as Error).message;
    };

    // Their public key put under the genuine kid: the sealed private half does not match it.
    await db.query("UPDATE signing_keys SET public_jwk = $2 WHERE kid = $1", [
      genuine.kid,
      JSON.stringify({ ...theirs.publicJwk, kid: genuine.kid }),
    ]);
    expect(await refusal()).toBe(
      `identity cannot start: the row of signing key ${genuine.kid} does not hold an ES256 key pair whose public half it publishes under that kid (the table was written to by hand?). Remove the key (npm run rotate-keys -- --remove ${genuine.kid}).`,
    );
    const reported: string[] = [];
    expect(await listSigningKeys(db, sealer, (kid) => reported.push(kid))).toEqual([]);
    expect(reported).toEqual([genuine.kid]);
    await deleteSigningKey(db, genuine.kid);

    // A whole pair of theirs in clear, after the start: not opened (a start reseals only what it finds).
    const inClear = (kid: string, privateJwk: unknown, publicJwk: jose.JWK = theirs.publicJwk) =>
      db.query(
        "INSERT INTO signing_keys (kid, alg, public_jwk, private_jwk, created_at, signs_from) VALUES ($1, 'ES256', $2, $3, now(), now())",
        [kid, JSON.stringify(publicJwk), JSON.stringify(privateJwk)],
      );
    await inClear(theirs.kid, theirs.privateJwk);
    expect(await refusal()).toMatch(/^identity cannot start: signing key \S+ is stored in clear, not sealed/);
    await deleteSigningKey(db, theirs.kid);
    // Junk in clear, or a pair under a kid that is not its own: not sealed by the next start either.
    await inClear("junk", {});
    expect((await resealSigningKeys(db, sealer).catch((e: unknown) => e)) as Error).toBeInstanceOf(
      CannotStartError,
    );
    await deleteSigningKey(db, "junk");
    await inClear("not-its-thumbprint", theirs.privateJwk);
    expect(String(await resealSigningKeys(db, sealer).catch((e: unknown) => e))).toMatch(
      /the row of signing key not-its-thumbprint does not hold an ES256 key pair/,
    );
    await deleteSigningKey(db, "not-its-thumbprint");
  });

  it("rotate-keys refuses to add a key under another secret than the one the stored keys are sealed with", async () => {
    for (const k of await listSigningKeyInfo(db)) await deleteSigningKey(db, k.kid);
    const stored = await generateSigningKey(plus(0));
    await insertSigningKey(db, stored, sealer);
    const timing = {
      ACCESS_TOKEN_TTL: 900,
      MCP_TOKEN_TTL: 300,
      CLOCK_TOLERANCE: 5,
      JWKS_REFETCH_COOLDOWN: 30,
    };
    await expect(
      runKeyCommand(
        db,
        { kind: "rotate", now: true },
        { ...timing, SIGNING_KEY_SECRET: "test-sealing-secret-two" },
      ),
    ).rejects.toThrow(
      `refusing to add a key: the stored keys are sealed with another secret than this command's SIGNING_KEY_SECRET (${stored.kid}); run it with the identity service's SIGNING_KEY_SECRET`,
    );
    const added = await runKeyCommand(
      db,
      { kind: "rotate", now: true },
      { ...timing, SIGNING_KEY_SECRET: "test-sealing-secret-one" },
    );
    expect(added[0]).toMatch(/^added key /);
    expect(await listSigningKeys(db, sealer)).toHaveLength(2);
    for (const k of await listSigningKeyInfo(db)) await deleteSigningKey(db, k.kid);
  });

  it("refuses a second key under the same kid", async () => {
    const key = await generateSigningKey(plus(0));
    await insertSigningKey(db, key, sealer);
    await expect(insertSigningKey(db, { ...key, signsFrom: plus(HOUR) }, sealer)).rejects.toThrow();
    expect((await listSigningKeys(db, sealer)).filter((k) => k.kid === key.kid)).toHaveLength(1);
  });
});
