import { AsyncLocalStorage } from "node:async_hooks";

/**
 * The deadline of the gateway call being served (docs/mcp-gateway.md, "Deadlines"): the caller's
 * own (`connect-timeout-ms` / `grpc-timeout`, i.e. what is left of the agent's turn), or
 * `MCP_CALL_TIMEOUT` when it sent none. Everything the call waits for — the token exchange, the
 * discover probe, its MCP requests — waits within it. It travels with the call's async context
 * because the token exchange runs inside the MCP SDK's fetch, where no parameter reaches.
 */
const storage = new AsyncLocalStorage<number>();

/** Runs `fn` with the deadline `at` (epoch ms). */
export function withDeadline<T>(at: number, fn: () => T): T {
  return storage.run(at, fn);
}

/** Milliseconds left of the current call's deadline (never negative), or `fallbackMs` outside a call. */
export function remainingMs(fallbackMs: number): number {
  const at = storage.getStore();
  return at === undefined ? fallbackMs : Math.max(0, at - Date.now());
}
