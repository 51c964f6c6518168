import { RenewingTokenCache } from "../../kit/auth/renewing-token-cache.js";
import { SERVICE_IDS, type ServiceCredentials } from "../../kit/auth/service-identity.js";
import type { TokenMinter } from "../tokens/token-minter.js";

export interface OwnServiceCredentialsOptions {
  readonly minter: TokenMinter;
  /** SERVICE_TOKEN_TTL, seconds. */
  readonly lifetimeSec: number;
  /** The services chat calls (docs/architecture.md: chat → agent). */
  readonly audiences: readonly string[];
}

/** Chat's credentials, plus what the identity provider needs to manage them. */
export interface OwnServiceCredentials extends ServiceCredentials {
  /** Forgets every cached token (their signing key was removed: they no longer verify anywhere). */
  clear(): void;
  /** Tokens minted so far: a warm call must not add to it. */
  readonly minted: number;
}

/**
 * Chat's own service tokens (client id `chat`), minted in process with the key ring: chat is the
 * identity provider, so asking itself over HTTP would only add a hop and a secret. They are the
 * tokens client credentials give the other services (tokens/token-minter.ts `mintService`), kept
 * per (audience, agent) by the kit's renewing cache the other services use too (renewed when a
 * fifth of the lifetime, at most 30 s, is left), so a warm call costs a map lookup.
 */
export function createOwnServiceCredentials(options: OwnServiceCredentialsOptions): OwnServiceCredentials {
  // Chat calls one or two services; the bound only guards against a caller inventing agents.
  const cache = new RenewingTokenCache(100);
  return {
    clientId: SERVICE_IDS.chat,
    get minted() {
      return cache.fetches;
    },
    tokenFor(audience, agent) {
      if (!options.audiences.includes(audience)) {
        return Promise.reject(new Error(`chat has no service credential for "${audience}"`));
      }
      return cache.get(`${audience}\n${agent ?? ""}`, async () => {
        const t = await options.minter.mintService({
          clientId: SERVICE_IDS.chat,
          audience,
          lifetimeSec: options.lifetimeSec,
          ...(agent !== undefined ? { agent } : {}),
        });
        return { token: t.token, expiresAt: t.expiresAt * 1000 };
      });
    },
    clear() {
      cache.drop(() => true);
    },
  };
}
