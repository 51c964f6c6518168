import * as jose from "jose";
import { AuthError } from "#kit/auth/index.js";
import type { Database } from "#kit/db/index.js";
import type { Logger } from "#kit/log/index.js";
import type { KeySealer } from "./key-sealing.js";
import { currentSigningKey, listSigningKeys, type StoredSigningKey } from "./signing-key-store.js";

/** The key that signs new tokens. */
export interface ActiveSigner {
  readonly kid: string;
  readonly alg: string;
  readonly key: jose.CryptoKey;
}

/**
 * The identity service's view of its signing keys, held in memory: the JWKS it publishes, the
 * in-process key resolver its own verifier uses (no HTTP self-fetch), and the current signer.
 * The database is the source of truth; the ring reloads it periodically (other replicas or the
 * rotate-keys command may change it) and when a token names a kid it does not know.
 */
export interface KeyRing {
  /** Public keys of every stored key, for `/.well-known/jwks.json`. */
  jwks(): jose.JSONWebKeySet;
  /** Resolves a token's key by `kid` for `jwtVerify`; unknown kids trigger one rate-limited reload. */
  readonly resolveKey: jose.JWTVerifyGetKey;
  /** The key new tokens are signed with. */
  signer(): ActiveSigner;
  /**
   * Every stored key with its private half (kid, alg, use): the keystore of the authorization
   * server, which signs with the current signer's kid (provider/).
   */
  privateJwks(): jose.JWK[];
  /** Called after a reload that added or removed keys. */
  onKeysChanged(listener: () => void): void;
  /** Re-reads the keys now. Resolves to the kids that disappeared. */
  reload(): Promise<readonly string[]>;
  /** Called with the kids of keys that were removed from the database. */
  onKeysRemoved(listener: (kids: readonly string[]) => void): void;
  close(): void;
}

export interface KeyRingOptions {
  readonly db: Database;
  /** Opens the private keys the database holds sealed (key-sealing.ts). */
  readonly sealer: KeySealer;
  /**
   * Keys the revocation feed announces removed (removed-key-sync.ts): refused and left unpublished
   * at once, even before the reload that drops them has read the database.
   */
  readonly isRemoved?: (kid: string) => boolean;
  readonly logger: Logger;
  /** How often to re-read the keys (another replica or the CLI may have rotated them). */
  readonly reloadIntervalMs: number;
  /** Minimum gap between reloads caused by unknown kids, so garbage kids can't hammer the database. */
  readonly unknownKidCooldownMs: number;
}

interface Snapshot {
  readonly stored: readonly StoredSigningKey[];
  readonly publicSet: jose.JSONWebKeySet;
  readonly resolve: ReturnType<typeof jose.createLocalJWKSet>;
  readonly privateKeys: ReadonlyMap<string, jose.CryptoKey>;
}

async function snapshotOf(stored: readonly StoredSigningKey[]): Promise<Snapshot> {
  const publicSet = { keys: stored.map((k) => k.publicJwk) };
  const privateKeys = new Map<string, jose.CryptoKey>();
  for (const k of stored)
    privateKeys.set(k.kid, (await jose.importJWK(k.privateJwk, k.alg)) as jose.CryptoKey);
  return { stored, publicSet, resolve: jose.createLocalJWKSet(publicSet), privateKeys };
}

export async function createKeyRing(options: KeyRingOptions): Promise<KeyRing> {
  const { db, logger } = options;
  let snapshot = await snapshotOf(await listSigningKeys(db, options.sealer));
  const removedListeners: ((kids: readonly string[]) => void)[] = [];
  const changedListeners: (() => void)[] = [];
  let lastUnknownKidReload = 0;

  const reload = coalesced(async (): Promise<readonly string[]> => {
    const next = await snapshotOf(await listSigningKeys(db, options.sealer, leftOut(logger)));
    const nextKids = new Set(next.stored.map((k) => k.kid));
    const before = new Set(snapshot.stored.map((k) => k.kid));
    const removed = [...before].filter((kid) => !nextKids.has(kid));
    const added = [...nextKids].filter((kid) => !before.has(kid));
    snapshot = next;
    if (added.length > 0) logger.info({ kids: added }, "signing keys added");
    if (removed.length > 0) {
      logger.info({ kids: removed }, "signing keys removed: their tokens no longer verify");
      for (const listener of removedListeners) listener(removed);
    }
    if (added.length > 0 || removed.length > 0) for (const listener of changedListeners) listener();
    return removed;
  });

  const timer = setInterval(() => {
    reload().catch((err: unknown) =>
      logger.warn({ err }, "signing key reload failed; keeping the current keys"),
    );
  }, options.reloadIntervalMs);
  timer.unref();

  const isRemoved = options.isRemoved ?? (() => false);
  const resolveKey: jose.JWTVerifyGetKey = async (header, token) => {
    if (header.kid !== undefined && isRemoved(header.kid)) throw new AuthError("key_removed");
    try {
      return await snapshot.resolve(header, token);
    } catch (err) {
      if (!(err instanceof jose.errors.JWKSNoMatchingKey)) throw err;
      const now = Date.now();
      if (now - lastUnknownKidReload < options.unknownKidCooldownMs) throw err;
      lastUnknownKidReload = now;
      await reload().catch(() => undefined);
      return snapshot.resolve(header, token);
    }
  };

  return {
    jwks: () => {
      const published = snapshot.publicSet;
      return published.keys.some((k) => k.kid !== undefined && isRemoved(k.kid))
        ? { keys: published.keys.filter((k) => k.kid === undefined || !isRemoved(k.kid)) }
        : published;
    },
    resolveKey,
    signer() {
      const current = currentSigningKey(snapshot.stored, new Date());
      const key = current && snapshot.privateKeys.get(current.kid);
      if (!current || !key) throw new Error("no signing key is active (run `npm run rotate-keys -- --now`)");
      return { kid: current.kid, alg: current.alg, key };
    },
    privateJwks: () => snapshot.stored.map((k) => ({ ...k.privateJwk, kid: k.kid, alg: k.alg, use: "sig" })),
    onKeysChanged(listener) {
      changedListeners.push(listener);
    },
    reload,
    onKeysRemoved(listener) {
      removedListeners.push(listener);
    },
    close() {
      clearInterval(timer);
    },
  };
}

/**
 * `run`, never twice at once. A call while it runs may be for a change that run read too early (a
 * key removed between its read and the notice): it gets one more run after it, shared by every call
 * made meanwhile.
 */
function coalesced<T>(run: () => Promise<T>): () => Promise<T> {
  let inFlight: Promise<T> | undefined;
  let queued: Promise<T> | undefined;
  const start = (): Promise<T> => {
    if (!inFlight) {
      inFlight = run().finally(() => {
        inFlight = undefined;
      });
      return inFlight;
    }
    queued ??= inFlight
      .catch(() => undefined)
      .then(() => {
        queued = undefined;
        return start();
      });
    return queued;
  };
  return start;
}

/**
 * A running service reloads past a key it cannot open, reporting it, so rotations and removals still
 * reach it; at start such a key stops the start with its one line instead.
 */
function leftOut(logger: Logger): (kid: string, err: unknown) => void {
  return (kid, err) =>
    logger.error(
      { kid, reason: err instanceof Error ? err.message : String(err) },
      "signing key left out: it does not open",
    );
}
