import { kidOf, type RemovedKeys } from "./removed-keys.js";

/**
 * Tokens kept per key until shortly before they expire (a fifth of their lifetime, at most 30 s),
 * so a warm call costs a map lookup and no call carries a dying token. Concurrent first requests
 * for one key share one fetch; a failed fetch is not cached. Bounded (LRU).
 */
export class RenewingTokenCache {
  private readonly entries = new Map<
    string,
    { token: string; renewAt: number; expiresAt: number; kid: string | undefined }
  >();
  private readonly inFlight = new Map<string, Promise<string>>();
  /** Fetches made so far: what a warm call must not add to. */
  fetches = 0;

  /**
   * `removedKeys`: a token signed by a key the issuer removed is never handed out again — every
   * verifier refuses it — but replaced by a new one, as if it had expired (docs/architecture.md,
   * "Revocation").
   */
  constructor(
    private readonly maxEntries = 10_000,
    private readonly removedKeys?: Pick<RemovedKeys, "has">,
  ) {}

  /**
   * The token of `key`, fetched when there is none to use; `seen` learns whether it was a `hit`, a
   * `miss` (this call fetches) or `shared` (it waits for a fetch already running).
   */
  async get(
    key: string,
    fetch: () => Promise<{ token: string; expiresAt: number }>,
    seen?: (lookup: "hit" | "miss" | "shared") => void,
  ): Promise<string> {
    const hit = this.entries.get(key);
    if (hit && Date.now() < hit.renewAt && !(hit.kid !== undefined && this.removedKeys?.has(hit.kid))) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      seen?.("hit");
      return hit.token;
    }
    let pending = this.inFlight.get(key);
    seen?.(pending ? "shared" : "miss");
    if (!pending) {
      this.fetches++;
      pending = this.fetchUsable(fetch)
        .then(({ token, expiresAt }) => {
          const lifetime = Math.max(0, expiresAt - Date.now());
          this.entries.delete(key);
          this.entries.set(key, {
            token,
            expiresAt,
            renewAt: expiresAt - Math.min(30_000, lifetime / 5),
            kid: this.removedKeys ? kidOf(token) : undefined,
          });
          if (this.entries.size > this.maxEntries) {
            const oldest = this.entries.keys().next().value;
            if (oldest !== undefined) this.entries.delete(oldest);
          }
          return token;
        })
        .finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, pending);
    }
    return pending;
  }

  /**
   * `fetch`, again once if what it brought is signed by a key removed meanwhile (fetched from an
   * issuer that had not yet heard of the removal): never handed to the callers waiting for it.
   */
  private async fetchUsable(
    fetch: () => Promise<{ token: string; expiresAt: number }>,
  ): Promise<{ token: string; expiresAt: number }> {
    const first = await fetch();
    const kid = this.removedKeys ? kidOf(first.token) : undefined;
    return kid !== undefined && this.removedKeys?.has(kid) ? fetch() : first;
  }

  /** Forgets the entry of `key` if it still holds `token` (one its receiver refused). */
  forget(key: string, token: string): void {
    if (this.entries.get(key)?.token === token) this.entries.delete(key);
  }

  /** Forgets every entry whose key `matches` (a revoked login session's tokens, say). */
  drop(matches: (key: string) => boolean): number {
    let dropped = 0;
    for (const key of this.entries.keys()) {
      if (matches(key)) {
        this.entries.delete(key);
        dropped++;
      }
    }
    return dropped;
  }

  get size(): number {
    return this.entries.size;
  }
}
