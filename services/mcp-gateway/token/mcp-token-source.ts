import type { Principal } from "#kit/auth/index.js";
import { type RemovedKeys, RenewingTokenCache, TokenEndpointError } from "#kit/auth/index.js";
import { currentTelemetry } from "#kit/propagation/index.js";
import { remainingMs } from "../session/call-deadline.js";
import { gatewayMetrics } from "../telemetry.js";
import type { TokenExchangeClient } from "./token-exchange-client.js";

/** Who a token is needed for: the caller, the credential they presented, the proven agent and scopes. */
export interface TokenSubject {
  readonly principal: Principal;
  /** The caller's access token; undefined only for the development principal. */
  readonly credential: string | undefined;
  /** The agent proven by the agent service's credential; "" for a direct (development) user call. */
  readonly agentId: string;
  /** The agent service's credential addressed to the gateway: the exchange's `actor_token`. */
  readonly actorToken: string | undefined;
  /** Scopes to ask for (the identity provider narrows them further to the agent's tools). */
  readonly scopes: readonly string[];
}

/** Produces the bearer token the MCP server will see for a subject; undefined = send none. */
export interface McpTokenSource {
  readonly mode: "exchange" | "passthrough";
  /** Exchanges made so far (0 in passthrough mode): what a warm call must not add to. */
  readonly exchanges: number;
  tokenFor(subject: TokenSubject, signal?: AbortSignal): Promise<string | undefined>;
  /** Forgets every token of a login session (it was revoked); returns how many. */
  dropSession(sessionId: string): number;
}

/** `MCP_TOKEN_MODE=passthrough`: the caller's own token, for MCP servers that accept it. */
export function createPassthroughTokenSource(): McpTokenSource {
  return {
    mode: "passthrough",
    exchanges: 0,
    tokenFor: async (subject) => subject.credential,
    dropSession: () => 0,
  };
}

export interface ExchangeTokenSourceOptions {
  readonly client: TokenExchangeClient;
  readonly resource: string;
  /** How long an exchange made outside any call's deadline may wait for its answer (`MCP_CALL_TIMEOUT`). */
  readonly fallbackTimeoutMs: number;
  /** Entries kept at most (LRU). */
  readonly maxEntries?: number;
  /** The process's removed keys: an exchanged token one of them signed is exchanged again, not sent. */
  readonly removedKeys?: Pick<RemovedKeys, "has">;
}

/**
 * `MCP_TOKEN_MODE=exchange` (default): one RFC 8693 exchange per (user, login session, agent,
 * scope set), cached until shortly before it expires, so a warm call costs a map lookup. Concurrent
 * first calls for the same key share one exchange.
 */
export function createExchangeTokenSource(options: ExchangeTokenSourceOptions): McpTokenSource {
  const cache = new RenewingTokenCache(options.maxEntries ?? 10_000, options.removedKeys);
  return {
    mode: "exchange",
    get exchanges() {
      return cache.fetches;
    },
    async tokenFor(subject) {
      const credential = subject.credential;
      const p = subject.principal;
      // The development principal (AUTH_DEV_ANONYMOUS) has no token to trade; the identity
      // provider, in the same mode, issues it one for the proven agent, so the MCP server still
      // verifies and audits the chain. Any other caller without a credential sends none.
      if (credential === undefined && !p.anonymous) return undefined;
      const key = `${p.sessionId}\n${p.userId}\n${subject.agentId}\n${subject.scopes.join(" ")}`;
      const metrics = currentTelemetry();
      let joined = false;
      const exchangeOnce = () =>
        cache.get(
          key,
          async () => {
            // No caller signal: the exchange is shared by every concurrent caller of this key, so no
            // one caller's deadline ends it: it waits for a busy identity provider as long as the
            // longer of the starting call's deadline and MCP_CALL_TIMEOUT, while each caller stops
            // waiting at its own deadline (`authorized-fetch.ts`); a failure is not cached.
            const t = await options.client.exchange({
              subjectToken: credential,
              resource: options.resource,
              scopes: subject.scopes,
              timeoutMs: Math.max(remainingMs(options.fallbackTimeoutMs), options.fallbackTimeoutMs),
              ...(subject.actorToken ? { actorToken: subject.actorToken } : {}),
            });
            return { token: t.accessToken, expiresAt: t.expiresAt };
          },
          // Hits and misses of the cache (docs/architecture.md, "Telemetry").
          (result) => {
            joined = result === "shared";
            if (metrics) gatewayMetrics(metrics).exchangeCache.inc({ result });
          },
        );
      for (;;) {
        try {
          return await exchangeOnce();
        } catch (err) {
          // A shared exchange ends at the bound of the call that started it: a caller that only joined
          // it, with time left of its own deadline, asks again — and, starting that exchange itself
          // (bounded by at least its own deadline) or joining a later one, is done by its deadline. Only
          // the transport's timeout (status 0), never an error code a token endpoint's body names.
          const endedByStarter =
            err instanceof TokenEndpointError && err.error === "timed_out" && err.status === 0 && joined;
          if (!endedByStarter || remainingMs(0) === 0) throw err;
        }
      }
    },
    dropSession: (sessionId) => cache.drop((key) => key.startsWith(`${sessionId}\n`)),
  };
}
