import type { Principal } from "#kit/auth/index.js";
import type { ToolDefinition } from "#kit/model/index.js";

/**
 * Tool lists a caller may use again without asking the gateway (docs/agent.md, "Run";
 * docs/mcp-gateway.md, "Tool lists"): the gateway says for how long (`ttl_ms`: what is left of the
 * MCP server's `ttlMs` for that caller's list), and a list is only ever reused for the same login
 * session, user, agent and scopes — the verified principal's, never anything the request says.
 * The MCP server still authorizes every call; a list is what the model is offered, not a permission.
 */
export interface ToolLists {
  /** The list held for this caller and agent, while it may be reused. */
  get(principal: Principal, agentId: string): readonly ToolDefinition[] | undefined;
  /** Holds `definitions` for `ttlMs` from now; 0 holds nothing. */
  keep(principal: Principal, agentId: string, definitions: readonly ToolDefinition[], ttlMs: number): void;
  /** Forgets this caller's list for this agent, e.g. after the server refused a tool it offered. */
  drop(principal: Principal, agentId: string): void;
  readonly size: number;
}

/** Far more callers than one agent process serves in a minute; past it, the oldest go first. */
export const MAX_HELD_LISTS = 10_000;

/** How often, at most, lists past their time are looked for and let go (when one is kept or asked for). */
const SWEEP_EVERY_MS = 60_000;
/** A full store looks for expired lists at most this often; between, the one held longest goes. */
const FULL_SWEEP_EVERY_MS = 1_000;
const MAX_REUSE_MS = 5 * 60_000;

export function createToolLists(now: () => number = Date.now, maxHeld = MAX_HELD_LISTS): ToolLists {
  const held = new Map<string, { definitions: readonly ToolDefinition[]; until: number }>();
  let sweptAt = now();

  const dropExpired = (t: number) => {
    for (const [key, entry] of held) if (entry.until <= t) held.delete(key);
    sweptAt = t;
  };

  /** A burst of callers who never come back leaves nothing held for long. */
  const sweepNow = (t: number) => {
    if (t - sweptAt >= SWEEP_EVERY_MS) dropExpired(t);
  };

  const makeRoom = () => {
    const t = now();
    sweepNow(t);
    if (held.size < maxHeld) return;
    if (t - sweptAt >= FULL_SWEEP_EVERY_MS) dropExpired(t);
    // Insertion order: the first key was held longest.
    for (const key of held.keys()) {
      if (held.size < maxHeld) break;
      held.delete(key);
    }
  };

  return {
    get(principal, agentId) {
      const t = now();
      sweepNow(t);
      const key = keyOf(principal, agentId);
      const entry = held.get(key);
      if (!entry) return undefined;
      if (entry.until > t) return entry.definitions;
      held.delete(key);
      return undefined;
    },
    keep(principal, agentId, definitions, ttlMs) {
      if (!(ttlMs > 0)) return;
      // The gateway holds a list for at most five minutes; nothing it says makes it longer here.
      const forMs = Math.min(ttlMs, MAX_REUSE_MS);
      const key = keyOf(principal, agentId);
      held.delete(key);
      makeRoom();
      held.set(key, { definitions, until: now() + forMs });
    },
    drop(principal, agentId) {
      held.delete(keyOf(principal, agentId));
    },
    get size() {
      return held.size;
    },
  };
}

/** What the gateway's list depends on: its MCP session (login session × user × agent) and the scopes. */
function keyOf(principal: Principal, agentId: string): string {
  return JSON.stringify([principal.sessionId, principal.userId, agentId, [...principal.scopes].sort()]);
}
