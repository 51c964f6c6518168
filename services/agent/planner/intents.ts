import { CREATE_TICKET, createTicketIntent } from "./create-ticket-intent.js";
import { call, clarify, type Intent } from "./intent.js";
import { listTicketsIntent } from "./list-tickets-intent.js";
import { afterColon, ticketNumber, tidy } from "./text-parts.js";
import { updateTicketIntent } from "./update-ticket-intent.js";

/**
 * The embedded planner's understanding of plain sentences: deterministic rules, tried in order,
 * first match wins. The order matters where phrases overlap ("list integrations" before tickets,
 * "update ticket 12 title to Closed" before "close").
 */

const LIST_TOOLS =
  /\b(what|which|list|show|tell|available|do you have|can you (call|use))\b.*\btools?\b|\btools?\b.*\b(available|can you)\b|\bwhat can you do\b|^\s*(help|\?)\s*[.!?]*$|\bcapabilit(y|ies)\b/i;
const SYSTEM_HEALTH =
  /\b(system|service|server|platform|backend)\b.*\b(health|healthy|status|up|ok|running|alive)\b|\bhealth\s*-?check\b|\buptime\b|^\s*health\s*[?!.]*$/i;
const WITH_AI =
  /\b(with|using|via|by)\s+(the\s+)?ai\b|\bai[\s-]+(triage|file|create)|\btriage\b|\bauto[\s-]?(file|triage)\b/i;
const DELETE = /\b(delete|remove|trash|discard|drop)\b/i;
const UNASSIGN = /\bunassign\b|\bremove\s+(the\s+)?assignee\b/i;
const ASSIGN = /\b(assign|reassign|give|hand)\b/i;
const ASSIGN_TARGET = /\bto\s+(me|myself|[^\s,;]+@[^\s,;]+|[A-Za-z0-9][A-Za-z0-9._:-]{0,63})\s*[.!?]?\s*$/i;
const UPDATE = /\b(update|change|edit|set|rename|modify|make)\b/i;
const UPDATE_FIELD = /\b(title|description|priority|category)\b|\brename\b/i;
const STATS = /\b(stats|statistics|metrics|counts?|how many|breakdown|overview|numbers)\b/i;
const SEARCH_VERB = /\b(search|find|look\s+for|look\s+up|lookup|grep)\b/i;
const SEARCH_TOPIC = /\b(?:about|for|mentioning|matching|containing|regarding|with|on|that mention)\s+(.+)$/i;
const TICKETS = /\btickets?\b|\bqueue\b|\bbacklog\b/i;

/** Status changes; `reopen` before `open` so "reopen" is not read as "open a ticket". */
const STATUS_CHANGES: readonly (readonly [RegExp, string])[] = [
  [/\breopen(ed)?\b|\bback to open\b|\b(as|to)\s+open\b/i, "open"],
  [/\bin[\s_-]?progress\b|\bstart(ed)?\s+(working\s+)?on\b|\bwork(ing)? on\b/i, "in_progress"],
  [/\b(waiting|on hold|pending)\b/i, "waiting"],
  [/\b(resolve[sd]?|solved?|fixed|mark(ed)? (as )?done)\b/i, "resolved"],
  [/\bclose[sd]?\b/i, "closed"],
];
const STATUS_VERB = /\b(close|reopen|resolve|solve|mark|set|move|change|put|status|start|work)\b/i;

/** One request → one intent, or undefined when nothing matched. */
export function parseIntent(sentence: string): Intent | undefined {
  const text = sentence.trim();
  if (LIST_TOOLS.test(text)) return { kind: "list_tools" };

  if (/\bintegrations?\b/i.test(text)) {
    if (/\b(disabled|inactive|turned off)\b/i.test(text))
      return call("list_integrations", { enabled: false });
    if (/\b(active|healthy|health|status|working|up|down|broken|unhealthy|degraded)\b/i.test(text)) {
      return call("get_active_integrations");
    }
    if (/\benabled\b/i.test(text)) return call("list_integrations", { enabled: true });
    return call("list_integrations");
  }
  if (SYSTEM_HEALTH.test(text) && !TICKETS.test(text)) return call("get_system_health");

  const id = ticketNumber(text);
  if (WITH_AI.test(text) && id === undefined) {
    const body = tidy(afterColon(text) ?? text.replace(/^.*?\b(with|using|via|by)\s+(the\s+)?ai\b/i, ""));
    if (body.length < 3)
      return clarify(
        "create_ticket_with_ai",
        "What is the request? Paste the customer's words after a colon.",
      );
    return call("create_ticket_with_ai", { text: body.slice(0, 5_000) });
  }
  if (CREATE_TICKET.test(text)) return createTicketIntent(text);

  if (id !== undefined) {
    if (DELETE.test(text) && !UPDATE_FIELD.test(text)) {
      const reason = /\b(?:because|reason\s*:?)\s+(.+)$/i.exec(text)?.[1];
      return call("delete_ticket", {
        ticket_id: id,
        ...(reason ? { reason: tidy(reason).slice(0, 500) } : {}),
      });
    }
    if (UNASSIGN.test(text)) return call("assign_ticket", { ticket_id: id, assignee: null });
    if (ASSIGN.test(text)) {
      const target = ASSIGN_TARGET.exec(text)?.[1];
      if (!target || /^\d+$/.test(target)) {
        return clarify("assign_ticket", `Who should ticket ${id} go to? Give an email address or "me".`);
      }
      return call("assign_ticket", { ticket_id: id, assignee: /^myself$/i.test(target) ? "me" : target });
    }
    if (UPDATE.test(text) && UPDATE_FIELD.test(text)) return updateTicketIntent(text, id);
    const status = STATUS_VERB.test(text)
      ? STATUS_CHANGES.find(([pattern]) => pattern.test(text))?.[1]
      : undefined;
    if (status) return call("update_ticket_status", { ticket_id: id, status });
    if (UPDATE.test(text)) return updateTicketIntent(text, id);
  }

  if (STATS.test(text) && TICKETS.test(text)) {
    const since = /\bsince\s+(\d{4}-\d{2}-\d{2})\b/.exec(text)?.[1];
    return call("get_ticket_stats", since ? { since: `${since}T00:00:00Z` } : {});
  }
  const topic = SEARCH_TOPIC.exec(text)?.[1];
  if (SEARCH_VERB.test(text) && (topic || id === undefined)) {
    const query = tidy(
      topic ?? text.replace(SEARCH_VERB, " ").replace(/\b(for|the|all|tickets?)\b/gi, " "),
    ).replace(/^["'“]|["'”]$/g, "");
    if (!query)
      return clarify(
        "search_tickets",
        'What should I search for? For example: "search tickets about printer".',
      );
    return call("search_tickets", { query: query.slice(0, 200) });
  }
  if (id !== undefined) return call("get_ticket", { ticket_id: id });
  if (TICKETS.test(text) && topic && /\btickets\s+(about|mentioning|regarding)\b/i.test(text)) {
    return call("search_tickets", { query: tidy(topic).slice(0, 200) });
  }
  if (TICKETS.test(text)) return listTicketsIntent(text);
  return undefined;
}

// Several requests in one message: "close ticket 3 and show ticket 4". A colon starts free text
// (a ticket description), which is never split.
const NEXT_REQUEST =
  /\s*;\s*|,?\s+(?:and\s+)?then\s+|,?\s+and\s+(?:also\s+)?(?=(?:show|get|close|reopen|resolve|delete|remove|assign|unassign|list|search|find|create|update|change|mark|set|move|file|tell)\b)/i;

/** Every request of a message, in order; empty when none was understood. */
export function parseIntents(message: string): Intent[] {
  const parts = message.includes(":")
    ? [message]
    : message.split(NEXT_REQUEST).filter((p) => p.trim() !== "");
  const intents = parts.map(parseIntent);
  if (parts.length > 1 && intents.some((i) => i === undefined)) {
    const whole = parseIntent(message);
    return whole ? [whole] : [];
  }
  return intents.filter((i): i is Intent => i !== undefined);
}
