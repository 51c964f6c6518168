import { call, clarify, type Intent } from "./intent.js";
import { afterColon, capitalize, firstSentence, tidy } from "./text-parts.js";
import { categoryOf, priorityOf } from "./ticket-vocabulary.js";

export const CREATE_TICKET =
  /\b(create|new|file|raise|log|submit|open|add|make)\s+(?:a\s+|an\s+|new\s+|the\s+|support\s+)*ticket\b(?!\s*#?\s*\d)/i;

const EXPLICIT_PRIORITY =
  /,?\s*\b(?:(?:with\s+)?(?:a\s+)?(urgent|critical|high|medium|normal|low)[\s-]+priority|priority\s*(?:is|of|:|=)?\s*(urgent|critical|high|medium|normal|low))\b/i;
const IMPLIED_URGENT = /,?\s*\b(urgent(?:ly)?|critical|asap)\b!?/i;
const EXPLICIT_CATEGORY =
  /,?\s*\b(?:(?:in\s+)?(?:the\s+)?category\s*(?:is|:|=)?\s*([a-z_]+(?:\s+request)?)|([a-z_]+(?:\s+request)?)\s+category)\b/i;
const ASSIGNEE = /,?\s*\bassign(?:ed)?\s+(?:it\s+)?to\s+(me|myself|[^\s,;]+@[^\s,;]+)/i;

const TITLE_MAX = 120;

/** "create a ticket: printer on fire, high priority" → create_ticket {title, priority, …}. */
export function createTicketIntent(text: string): Intent {
  let body =
    afterColon(text) ?? text.replace(CREATE_TICKET, " ").replace(/^\s*(please|pls|can you|could you)\b/i, "");
  body = body.replace(/^\s*(?:about|for|saying|that|titled|called|with title)\b/i, "");
  const args: Record<string, unknown> = {};

  const priority = EXPLICIT_PRIORITY.exec(body);
  if (priority) {
    args.priority = priorityOf(priority[1] ?? priority[2] ?? "");
    body = body.replace(priority[0], "");
  } else {
    const urgent = IMPLIED_URGENT.exec(body);
    if (urgent) args.priority = "urgent";
  }
  const category = EXPLICIT_CATEGORY.exec(body);
  const categoryValue = category ? categoryOf(category[1] ?? category[2] ?? "") : undefined;
  if (category && categoryValue) {
    args.category = categoryValue;
    body = body.replace(category[0], "");
  }
  const assignee = ASSIGNEE.exec(body);
  if (assignee?.[1]) {
    args.assignee = /^myself$/i.test(assignee[1]) ? "me" : assignee[1];
    body = body.replace(assignee[0], "");
  }

  const details = tidy(body);
  const title = capitalize(firstSentence(details, TITLE_MAX));
  if (title.length < 3) {
    return clarify(
      "create_ticket",
      'What should the ticket say? For example: "create a ticket: printer on fire, high priority".',
    );
  }
  // The whole text is kept as the description when the title had to leave something out.
  const description =
    details.replace(/[.!?]+$/, "").toLowerCase() === title.toLowerCase() ? "" : details.slice(0, 5_000);
  return call("create_ticket", { title, ...(description ? { description } : {}), ...args });
}
