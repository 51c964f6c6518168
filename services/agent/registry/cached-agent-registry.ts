import type { AgentRecord } from "./agent-record.js";
import type { AgentRegistry } from "./agent-registry.js";

/** How long an answer of the registry is reused (docs/agent.md, "Registry"). */
export const AGENT_REGISTRY_CACHE_MS = 1_000;
/** Distinct questions kept at once: agents are few, so this only bounds a caller paging oddly. */
const MAX_ENTRIES = 256;

type Page = { agents: AgentRecord[]; nextPageToken: string };

/**
 * Every turn reads its agent and the list of agents (the run context names them): two queries a
 * turn for rows that change only when a deployment reconciles its seeded agents. Each answer is
 * reused for `ttlMs`, so at a hundred turns a second the database is asked a few times a second
 * instead of two hundred, and a change is seen within `ttlMs`. Refusals (invalid, not found) are
 * not kept: they are cheap to repeat and an agent added meanwhile is found at once. Concurrent
 * questions share one query.
 */
export function cachedAgentRegistry(
  registry: AgentRegistry,
  ttlMs = AGENT_REGISTRY_CACHE_MS,
  now: () => number = Date.now,
): AgentRegistry {
  const agents = new Map<string, { until: number; answer: Promise<AgentRecord> }>();
  const pages = new Map<string, { until: number; answer: Promise<Page> }>();

  function reuse<T>(
    entries: Map<string, { until: number; answer: Promise<T> }>,
    key: string,
    ask: () => Promise<T>,
  ): Promise<T> {
    const kept = entries.get(key);
    if (kept && now() < kept.until) return kept.answer;
    if (entries.size >= MAX_ENTRIES) entries.clear();
    const answer = ask();
    const entry = { until: now() + ttlMs, answer };
    entries.set(key, entry);
    // A refusal or a failure is not an answer to keep.
    answer.catch(() => {
      if (entries.get(key) === entry) entries.delete(key);
    });
    return answer;
  }

  return {
    get: (agentId) => reuse(agents, agentId, () => registry.get(agentId)),
    list: (pageSize, pageToken) =>
      reuse(pages, `${pageSize}\u0000${pageToken}`, () => registry.list(pageSize, pageToken)),
  };
}
