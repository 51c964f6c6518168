import type { Principal } from "../../kit/auth/principal.js";
import type { ExchangedToken, TokenExchangeClient } from "./token-exchange-client.js";

/** Who a token is needed for: the caller, the credential they presented, the agent and scopes. */
export interface TokenSubject {
  readonly principal: Principal;
  /** The caller's access token; undefined only for the development principal. */
  readonly credential: string | undefined;
  readonly agentId: string;
  /** Scopes to ask for (already narrowed to what the agent may use). */
  readonly scopes: readonly string[];
}

/** Produces the bearer token the MCP server will see for a subject; undefined = send none. */
export interface McpTokenSource {
  readonly mode: "exchange" | "passthrough";
  /** Exchanges made so far (0 in passthrough mode): what a warm call must not add to. */
  readonly exchanges: number;
  tokenFor(subject: TokenSubject, signal?: AbortSignal): Promise<string | undefined>;
}

/** `MCP_TOKEN_MODE=passthrough`: the caller's own token, for MCP servers that accept it. */
export function createPassthroughTokenSource(): McpTokenSource {
  return { mode: "passthrough", exchanges: 0, tokenFor: async (subject) => subject.credential };
}

export interface ExchangeTokenSourceOptions {
  readonly client: TokenExchangeClient;
  readonly resource: string;
  /** Entries kept at most (LRU). */
  readonly maxEntries?: number;
}

/**
 * `MCP_TOKEN_MODE=exchange` (default): one RFC 8693 exchange per (user, login session, agent,
 * scope set), cached until shortly before it expires, so a warm call costs a map lookup. Concurrent
 * first calls for the same key share one exchange.
 */
export function createExchangeTokenSource(options: ExchangeTokenSourceOptions): McpTokenSource {
  const cache = new Map<string, CachedToken>();
  const inFlight = new Map<string, Promise<CachedToken>>();
  const maxEntries = options.maxEntries ?? 10_000;
  let exchanges = 0;

  return {
    mode: "exchange",
    get exchanges() {
      return exchanges;
    },
    async tokenFor(subject) {
      if (subject.credential === undefined) return undefined;
      const p = subject.principal;
      const key = `${p.userId}\n${p.sessionId}\n${subject.agentId}\n${subject.scopes.join(" ")}`;
      const hit = cache.get(key);
      if (hit && Date.now() < hit.renewAt) {
        cache.delete(key);
        cache.set(key, hit);
        return hit.accessToken;
      }
      let pending = inFlight.get(key);
      if (!pending) {
        exchanges++;
        pending = options.client
          .exchange({
            subjectToken: subject.credential,
            resource: options.resource,
            scopes: subject.scopes,
            ...(subject.agentId ? { agentId: subject.agentId } : {}),
            // No caller signal: the exchange is shared by every concurrent caller of this key.
          })
          .then(withRenewal)
          .finally(() => inFlight.delete(key));
        inFlight.set(key, pending);
      }
      const token = await pending;
      cache.delete(key);
      cache.set(key, token);
      if (cache.size > maxEntries) {
        const oldest = cache.keys().next().value;
        if (oldest !== undefined) cache.delete(oldest);
      }
      return token.accessToken;
    },
  };
}

interface CachedToken extends ExchangedToken {
  /** Epoch ms after which the token is renewed rather than reused. */
  readonly renewAt: number;
}

// Renew ahead of expiry (a fifth of the lifetime, at most 30 s), so no call carries a dying token.
function withRenewal(t: ExchangedToken): CachedToken {
  const lifetime = Math.max(0, t.expiresAt - Date.now());
  return { ...t, renewAt: t.expiresAt - Math.min(30_000, lifetime / 5) };
}
