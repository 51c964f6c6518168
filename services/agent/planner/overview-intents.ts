import type { RunClock } from "../registry/run-context.js";
import { splitDate, statsDate } from "./date-notes.js";
import { type ClauseIntent, call } from "./intent.js";

/**
 * Requests about the helpdesk rather than one ticket: the planner's own tools, integrations,
 * system health and ticket statistics, in everyday words ("are we up", "is slack working?").
 */

const LIST_TOOLS =
  /\b(what|which|list|show|tell|available|do you have|can you (call|use))\b.*\btools?\b|\btools?\b.*\b(available|can you)\b|\bwhat (else )?can you do\b|^\s*(help|\?)\s*[.!?]*$|\bcapabilit(y|ies)\b/i;

export function toolsIntent(text: string): ClauseIntent | undefined {
  return LIST_TOOLS.test(text) ? { kind: "tools" } : undefined;
}

const INTEGRATION_NAMES =
  /\b(slack|jira|email intake|zendesk|salesforce|teams|pagerduty|webhooks?|github)\b/i;
const HEALTH_WORDS =
  /\b(active|healthy|health|status|working|up|down|broken|unhealthy|degraded|ok|okay|running|failing)\b/i;

export function integrationsIntent(text: string): ClauseIntent | undefined {
  const named = /\bintegrations?\b/i.test(text) || /\bconnected\b/i.test(text);
  if (!named) {
    if (INTEGRATION_NAMES.test(text) && HEALTH_WORDS.test(text) && !/\btickets?\b|#\d/i.test(text)) {
      return call("get_active_integrations");
    }
    return undefined;
  }
  if (/\b(disabled|inactive|turned off|switched off|off)\b/i.test(text) && !/\bincluding\b/i.test(text)) {
    return call("list_integrations", { enabled: false });
  }
  if (/\benabled\b/i.test(text)) return call("list_integrations", { enabled: true });
  if (HEALTH_WORDS.test(text)) return call("get_active_integrations");
  return call("list_integrations");
}

const SYSTEM_WORDS =
  /\b(system|service|server|platform|backend|back end|helpdesk|database|db|api|stack|we)\b/i;
const SYSTEM_STATE =
  /\b(health|healthy|status|up|down|ok|okay|running|alive|reachable|doing|info|working|fine)\b/i;
const HEALTH_ALONE =
  /\bcheck\s+(?:the\s+)?health\b|\bhealth\s*-?\s*checks?\b|\bhealthcheck\b|\buptime\b|^\s*(system\s+)?health\s*[?!.]*$/i;

export function healthIntent(text: string): ClauseIntent | undefined {
  if (/\btickets?\b|#\d/i.test(text)) return undefined;
  if (HEALTH_ALONE.test(text) || (SYSTEM_WORDS.test(text) && SYSTEM_STATE.test(text))) {
    return call("get_system_health");
  }
  return undefined;
}

const STATS =
  /\b(stats|statistics|metrics|counts?|how many|breakdown|overview|numbers|dashboard)\b|\bmost tickets\b|\bqueue\b.*\boverall\b/i;

/** "stats since last week": `since` is the start of that day in the caller's zone (run context). */
export function statsIntent(text: string, clock?: RunClock): ClauseIntent | undefined {
  if (!STATS.test(text)) return undefined;
  const { args, notes } = statsDate(splitDate(text, clock).date);
  return call("get_ticket_stats", args, notes);
}
