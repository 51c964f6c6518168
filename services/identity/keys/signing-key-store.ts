import * as jose from "jose";
import type { Queryable } from "#kit/db/index.js";
import { checkKeyPair, type KeySealer } from "./key-sealing.js";

/** The signing algorithm (docs/identity.md; the kit's verifier allows ES256 and EdDSA). */
export const SIGNING_ALG = "ES256";

/** What is known of a stored key without opening its private half: enough to list, choose and prune. */
export interface SigningKeyInfo {
  readonly kid: string;
  readonly alg: string;
  /** Public JWK with kid, alg and use. */
  readonly publicJwk: jose.JWK;
  readonly createdAt: Date;
  readonly signsFrom: Date;
}

/** One persisted signing key. Every stored key is published; the newest one whose `signsFrom` has passed signs. */
export interface StoredSigningKey extends SigningKeyInfo {
  readonly privateJwk: jose.JWK;
}

interface KeyRow extends Record<string, unknown> {
  kid: string;
  alg: string;
  public_jwk: jose.JWK;
  /** A sealed private JWK (a compact JWE string, key-sealing.ts), or a plain one stored before sealing. */
  private_jwk?: unknown;
  created_at: Date;
  signs_from: Date;
}

/** Generates an ES256 key pair; its kid is the RFC 7638 thumbprint, so it names the key itself. */
export async function generateSigningKey(signsFrom: Date): Promise<StoredSigningKey> {
  const { publicKey, privateKey } = await jose.generateKeyPair(SIGNING_ALG, { extractable: true });
  const pub = await jose.exportJWK(publicKey);
  const kid = await jose.calculateJwkThumbprint(pub);
  return {
    kid,
    alg: SIGNING_ALG,
    publicJwk: { ...pub, kid, alg: SIGNING_ALG, use: "sig" },
    privateJwk: { ...(await jose.exportJWK(privateKey)), kid, alg: SIGNING_ALG },
    createdAt: new Date(),
    signsFrom,
  };
}

/**
 * Every stored key, its private half opened by `sealer`. A key that does not open fails the whole
 * list (a start: the one-line CannotStartError names it), unless `onUnusable` is given (a running
 * service's reload): then it is left out and reported, and the other keys still reload.
 */
export async function listSigningKeys(
  db: Queryable,
  sealer: KeySealer,
  onUnusable?: (kid: string, err: unknown) => void,
): Promise<StoredSigningKey[]> {
  const { rows } = await db.query<KeyRow>(
    "SELECT kid, alg, public_jwk, private_jwk, created_at, signs_from FROM signing_keys ORDER BY signs_from, created_at",
  );
  const keys: StoredSigningKey[] = [];
  for (const r of rows) {
    try {
      keys.push({ ...infoOf(r), privateJwk: await sealer.open(r.kid, r.private_jwk, r.public_jwk) });
    } catch (err) {
      if (!onUnusable) throw err;
      onUnusable(r.kid, err);
    }
  }
  return keys;
}

/** Every stored key, private halves left sealed (the key commands: they never need one). */
export async function listSigningKeyInfo(db: Queryable): Promise<SigningKeyInfo[]> {
  const { rows } = await db.query<KeyRow>(
    "SELECT kid, alg, public_jwk, created_at, signs_from FROM signing_keys ORDER BY signs_from, created_at",
  );
  return rows.map(infoOf);
}

function infoOf(r: KeyRow): SigningKeyInfo {
  return {
    kid: r.kid,
    alg: r.alg,
    publicJwk: r.public_jwk,
    createdAt: r.created_at,
    signsFrom: r.signs_from,
  };
}

/** Stores a key, its private half sealed by `sealer`: never in clear in the database. */
export async function insertSigningKey(
  db: Queryable,
  key: StoredSigningKey,
  sealer: KeySealer,
): Promise<void> {
  await db.query(
    "INSERT INTO signing_keys (kid, alg, public_jwk, private_jwk, created_at, signs_from) VALUES ($1, $2, $3, $4, $5, $6)",
    [
      key.kid,
      key.alg,
      JSON.stringify(key.publicJwk),
      JSON.stringify(await sealer.seal(key.kid, key.privateJwk)),
      key.createdAt.toISOString(),
      key.signsFrom.toISOString(),
    ],
  );
}

/**
 * Seals, under the current secret, every key stored in clear (before sealing existed) or sealed
 * under the previous secret; returns their kids. Each row is rewritten only if it still holds what
 * was read, so replicas starting together do not undo each other.
 */
export async function resealSigningKeys(db: Queryable, sealer: KeySealer): Promise<string[]> {
  const { rows } = await db.query<{ kid: string; private_jwk: unknown; public_jwk: jose.JWK }>(
    "SELECT kid, private_jwk, public_jwk FROM signing_keys",
  );
  const resealed: string[] = [];
  for (const row of rows) {
    if (sealer.isSealedWithCurrent(row.private_jwk)) continue;
    // In clear (from before sealing): only a well-formed pair under its own kid is taken.
    const privateJwk =
      typeof row.private_jwk === "string"
        ? await sealer.open(row.kid, row.private_jwk, row.public_jwk)
        : await checkKeyPair(row.kid, row.private_jwk, row.public_jwk);
    const sealed = await sealer.seal(row.kid, privateJwk);
    const res = await db.query(
      "UPDATE signing_keys SET private_jwk = $2 WHERE kid = $1 AND private_jwk = $3::jsonb",
      [row.kid, JSON.stringify(sealed), JSON.stringify(row.private_jwk)],
    );
    if (res.rowCount > 0) resealed.push(row.kid);
  }
  return resealed;
}

/**
 * Channel notified with a key's kid when it is deleted (`deleteSigningKey`): every identity replica
 * LISTENs, reloads its keys and tells the revocation feed (keys/removed-key-sync.ts).
 */
export const SIGNING_KEY_REMOVED_CHANNEL = "signing_key_removed";

/** A deleted signing key, as `removed_signing_keys` records it for the revocation feed. */
export interface RemovedSigningKey {
  readonly kid: string;
  readonly removedAt: Date;
}

/**
 * Deletes a key, records its removal and notifies SIGNING_KEY_REMOVED_CHANNEL, in one statement:
 * the other replicas hear of it exactly when it commits, and a replica started later still finds
 * it in `removed_signing_keys` (docs/identity.md, "Signing keys"). True when the key existed.
 */
export async function deleteSigningKey(db: Queryable, kid: string): Promise<boolean> {
  const { rows } = await db.query<{ kid: string }>(
    `WITH deleted AS (DELETE FROM signing_keys WHERE kid = $1 RETURNING kid),
          recorded AS (
            INSERT INTO removed_signing_keys (kid) SELECT kid FROM deleted
            ON CONFLICT (kid) DO UPDATE SET removed_at = excluded.removed_at RETURNING kid)
     SELECT kid, pg_notify('${SIGNING_KEY_REMOVED_CHANNEL}', kid) AS notified FROM recorded`,
    [kid],
  );
  return rows.length > 0;
}

/** Keys removed at or after `since`, oldest first. */
export async function removedSigningKeysSince(db: Queryable, since: Date): Promise<RemovedSigningKey[]> {
  const { rows } = await db.query<{ kid: string; removed_at: Date }>(
    "SELECT kid, removed_at FROM removed_signing_keys WHERE removed_at >= $1 ORDER BY removed_at",
    [since.toISOString()],
  );
  return rows.map((r) => ({ kid: r.kid, removedAt: r.removed_at }));
}

/** The keys sealed under a secret other than `sealer`'s current one (none in clear). */
export async function sealedWithAnotherSecret(db: Queryable, sealer: KeySealer): Promise<string[]> {
  const { rows } = await db.query<{ kid: string; private_jwk: unknown }>(
    "SELECT kid, private_jwk FROM signing_keys",
  );
  return rows
    .filter((r) => typeof r.private_jwk === "string" && !sealer.isSealedWithCurrent(r.private_jwk))
    .map((r) => r.kid);
}

/** Forgets removals older than `before`; returns how many. */
export async function deleteRemovalsBefore(db: Queryable, before: Date): Promise<number> {
  const res = await db.query("DELETE FROM removed_signing_keys WHERE removed_at < $1", [
    before.toISOString(),
  ]);
  return res.rowCount;
}

/** The key that signs at `now`: the newest whose signs_from has passed. */
export function currentSigningKey<K extends SigningKeyInfo>(keys: readonly K[], now: Date): K | undefined {
  let current: K | undefined;
  for (const k of keys) {
    if (k.signsFrom <= now && (!current || k.signsFrom >= current.signsFrom)) current = k;
  }
  return current;
}

/**
 * When `key` stopped signing: the signs_from of the first later key that has started signing.
 * Undefined while it is still the current (or a future) key.
 */
export function supersededAt(
  key: SigningKeyInfo,
  keys: readonly SigningKeyInfo[],
  now: Date,
): Date | undefined {
  let at: Date | undefined;
  for (const k of keys) {
    if (k === key || k.signsFrom <= key.signsFrom || k.signsFrom > now) continue;
    if (!at || k.signsFrom < at) at = k.signsFrom;
  }
  return at;
}

/**
 * Makes sure one key exists, generating it on first start. The advisory lock serialises replicas
 * starting together on one PostgreSQL, so they don't each mint a first key.
 */
export async function ensureSigningKey(
  db: {
    transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  },
  sealer: KeySealer,
): Promise<StoredSigningKey | undefined> {
  return db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock(hashtextextended('support-ext:identity:signing-keys', 0))");
    const { rows } = await tx.query<{ n: number }>("SELECT count(*)::int AS n FROM signing_keys");
    if ((rows[0]?.n ?? 0) > 0) return undefined;
    const key = await generateSigningKey(new Date());
    await insertSigningKey(tx, key, sealer);
    return key;
  });
}
