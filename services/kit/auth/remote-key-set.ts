import * as jose from "jose";
import { AuthError } from "./auth-error.js";

export interface RemoteKeySetOptions {
  /** How long a fetched key set is trusted before it is refreshed. */
  readonly cacheMaxAgeMs: number;
  /**
   * Minimum gap between a fetch (successful or not) and a refetch for an unknown `kid`; after a
   * failed fetch, also how long to go on without trying again.
   */
  readonly cooldownMs: number;
  readonly timeoutMs: number;
  /**
   * A count that grows whenever the issuer is known to have changed its keys (the removals heard on
   * the revocation feed): a change since the last fetch lets a token naming an unknown `kid`
   * refetch before the cooldown ends, once. An operator who removes a leaked key has just added the
   * one that signs from now on (`rotate-keys -- --now`), and every verifier must learn it now, not
   * a cooldown later. Only the authenticated feed moves the count, so strangers' kids cannot.
   */
  readonly keyChanges?: () => number;
}

/**
 * An issuer's JWKS fetched over HTTP: cached for `cacheMaxAgeMs`, refetched when a token names an
 * unknown `kid` (key rotation), at most once per cooldown. Concurrent verifications share one fetch.
 *
 * Why not jose's `createRemoteJWKSet` alone: it starts its cooldown only after a successful fetch,
 * so while the endpoint fails every verification fetches again (an outage of the issuer becomes a
 * flood of requests to it), and it drops a stale key set instead of serving it when the refresh
 * fails. Here a failed fetch is remembered for the cooldown: tokens signed by a key of the last
 * good set still verify, the others are refused at once as `jwks_unavailable`.
 */
export function createRemoteKeySet(url: URL, options: RemoteKeySetOptions): jose.JWTVerifyGetKey {
  let keys: jose.JWTVerifyGetKey | undefined;
  let fetchedAt = Number.NEGATIVE_INFINITY;
  let attemptedAt = Number.NEGATIVE_INFINITY;
  let lastFetchFailed = false;
  let pending: Promise<void> | undefined;
  const keyChanges = options.keyChanges ?? (() => 0);
  let changesAtFetch = keyChanges();

  const refresh = (): Promise<void> => {
    if (pending) return pending;
    // Counted when a fetch starts: one already under way may have begun before the change.
    changesAtFetch = keyChanges();
    pending = fetchKeySet(url, options.timeoutMs)
      .then(
        (fetched) => {
          keys = fetched;
          fetchedAt = Date.now();
          lastFetchFailed = false;
        },
        () => {
          lastFetchFailed = true;
        },
      )
      .finally(() => {
        attemptedAt = Date.now();
        pending = undefined;
      });
    return pending;
  };
  const coolingDown = () => Date.now() < attemptedAt + options.cooldownMs;

  return async (header, token) => {
    const stale = Date.now() >= fetchedAt + options.cacheMaxAgeMs;
    if ((!keys || stale) && !(lastFetchFailed && coolingDown())) await refresh();
    if (!keys) throw new AuthError("jwks_unavailable");
    try {
      return await keys(header, token);
    } catch (err) {
      if (!(err instanceof jose.errors.JWKSNoMatchingKey)) throw err;
      if (!coolingDown() || keyChanges() !== changesAtFetch) {
        await refresh();
        if (!lastFetchFailed) return keys(header, token);
      }
      // The issuer may have rotated this key in; that can't be told until its keys are reachable.
      if (lastFetchFailed) throw new AuthError("jwks_unavailable");
      throw err;
    }
  };
}

async function fetchKeySet(url: URL, timeoutMs: number): Promise<jose.JWTVerifyGetKey> {
  const res = await fetch(url, {
    headers: { accept: "application/json, application/jwk-set+json" },
    // As jose does: a key set is served from its own URL, never from wherever a redirect points.
    redirect: "manual",
    signal: AbortSignal.timeout(timeoutMs),
  });
  if (res.status !== 200) {
    await res.body?.cancel(); // frees the connection
    throw new Error(`JWKS endpoint answered HTTP ${res.status}`);
  }
  return jose.createLocalJWKSet((await res.json()) as jose.JSONWebKeySet); // throws JWKSInvalid on a bad set
}
