import { ask, type ClauseIntent, call } from "./intent.js";
import { capitalize, firstSentence, tidy } from "./text-parts.js";
import { CATEGORY_ALTERNATIVES, CATEGORY_PATTERN, categoryOf, priorityOf } from "./ticket-vocabulary.js";

/** Words between the verb and "ticket": "create an urgent billing ticket", "new tkt". */
const ADJECTIVES = `(?:(?:a|an|new|the|support|me|another|${CATEGORY_ALTERNATIVES}|(?:urgent|critical|high|medium|normal|low)(?:\\s+priority)?)\\s+)*`;
/** "create a ticket …", "new ticket: …", "ticket: …" — never "open ticket 33", which reads one. */
export const CREATE_TICKET = new RegExp(
  `^(?:.*?\\b(?:create|new|file|raise|log|submit|open|add|make)\\s+${ADJECTIVES}ticket\\b(?!\\s*(?:#|number|no\\.?)?\\s*\\d)|\\s*(?:new\\s+)?ticket\\s*(?:please\\s*)?(?=[:-]))`,
  "i",
);

const EXPLICIT_PRIORITY =
  /,?\s*\b(?:(?:with\s+)?(?:a\s+)?(urgent|critical|high|medium|normal|low)[\s-]+priority|priority\s*(?:is|of|:|=)?\s*(urgent|critical|high|medium|normal|low))\b/i;
const IMPLIED_URGENT = /,?\s*\b(urgent(?:ly)?|critical|asap)\b!?/i;
const EXPLICIT_CATEGORY = new RegExp(
  `,?\\s*\\b(?:(?:in\\s+)?(?:the\\s+)?category\\s*(?:is|:|=)?\\s*(${CATEGORY_ALTERNATIVES})|(${CATEGORY_ALTERNATIVES})\\s+category)\\b`,
  "i",
);
const ASSIGNEE = /,?\s*\b(?:and\s+)?assign(?:ed)?\s+(?:it\s+)?to\s+(me|myself|[^\s,;]+@[^\s,;]+)/i;
const LEAD_IN = /^\s*(?:please\s+|can you\s+|could you\s+|hey,?\s+|hi,?\s+)*/i;
const TITLE_MAX = 120;

/** "create a ticket: printer on fire, high priority" → create_ticket {title, priority, …}. */
export function createTicketIntent(text: string): ClauseIntent {
  const head = CREATE_TICKET.exec(text)?.[0] ?? "";
  const args: Record<string, unknown> = {};
  // Words before "ticket" ("an urgent billing ticket") count like those in the text.
  const adjectives = head.replace(LEAD_IN, "");
  const headPriority = /\b(urgent|critical|high|medium|normal|low)\b/i.exec(adjectives)?.[1];
  if (headPriority) args.priority = priorityOf(headPriority);
  const headCategory = new RegExp(`${CATEGORY_PATTERN.source}\\s+ticket`, "i").exec(adjectives)?.[1];
  if (headCategory) args.category = categoryOf(headCategory);
  if (/\bfor me\b/i.test(text.slice(head.length, head.length + 12))) args.assignee = "me";

  let body = text
    .slice(head.length)
    .replace(/^\s*(?:for me\b)?\s*(?:please\s*)?[:\-–,]?\s*/i, "")
    .replace(/^\s*(?:about|for|saying|that|titled|called|with title|re:?)\s+/i, "")
    .replace(/\s*\bplease\b\s*/gi, " ");

  const priority = EXPLICIT_PRIORITY.exec(body);
  if (priority) {
    args.priority = priorityOf(priority[1] ?? priority[2] ?? "");
    body = body.replace(priority[0], "");
  } else if (!args.priority) {
    const urgent = IMPLIED_URGENT.exec(body);
    if (urgent) {
      args.priority = "urgent";
      body = body.replace(urgent[0], "");
    }
  }
  const category = EXPLICIT_CATEGORY.exec(body);
  const categoryValue = category ? categoryOf(category[1] ?? category[2] ?? "") : undefined;
  if (category && categoryValue) {
    args.category = categoryValue;
    body = body.replace(category[0], "");
  }
  const assignee = ASSIGNEE.exec(body);
  if (assignee?.[1]) {
    args.assignee = /^(me|myself)$/i.test(assignee[1]) ? "me" : assignee[1];
    body = body.replace(assignee[0], "");
  }

  const details = tidy(body.replace(/^["“]|["”]$/g, ""));
  const title = capitalize(firstSentence(details, TITLE_MAX));
  if (title.length < 3) {
    return ask(
      "create_ticket",
      'What should the new ticket say? e.g. "create a ticket: printer on fire, high priority"?',
    );
  }
  // The whole text is kept as the description when the title had to leave something out.
  const sentence = details.replace(/[.!?]+$/, "");
  const description = sentence.toLowerCase() === title.toLowerCase() ? "" : details.slice(0, 5_000);
  return call("create_ticket", { title, ...(description ? { description } : {}), ...args });
}

const WITH_AI =
  /\b(?:with|using|via|by|use|let|have)\s+(?:the\s+)?ai\b|\bai[\s-]+(?:triage|file|create|ticket)|^\s*(?:please\s+)?(?:auto[\s-]?)?triage\b/i;

/**
 * "<the customer's words>, file it with AI", "…. Please file with AI.", "…; use AI to file this":
 * the request at the end of the message, everything before it the text.
 */
const TRAILING_AI =
  /(?:\s*[-–—,;:]\s*|\s+)(?:(?:please|and|so|can you|could you|would you|then)\s+)*(?:(?:file|log|triage|create|open|submit|raise|ticket)\s+(?:(?:this|it|that)\s+)?(?:as\s+a\s+ticket\s+)?(?:with|using|via|by)\s+(?:the\s+)?ai|(?:use|using|let|have)\s+(?:the\s+)?ai\s+(?:to\s+)?(?:file|log|triage|create|open|submit|raise)(?:\s+(?:this|it|that))?)(?:\s+please)?\s*[.!?]*\s*$/i;

/** The words before a request at the end to file them with AI, when there are any. */
function beforeTrailingAi(text: string): string | undefined {
  const m = TRAILING_AI.exec(text);
  if (!m) return undefined;
  const body = text.slice(0, m.index);
  // "please file this with AI" has no text of its own.
  return tidy(body.replace(LEAD_IN, "")).length >= 3 ? body : undefined;
}

/** Whether the message ends with a request to file what precedes it with AI. */
export function endsWithAiRequest(text: string): boolean {
  return beforeTrailingAi(text) !== undefined;
}

/** "file this with AI: <the customer's words>" → create_ticket_with_ai {text}. */
export function withAiIntent(text: string): ClauseIntent | undefined {
  if (!WITH_AI.test(text) || CREATE_TICKET_NUMBERED.test(text)) return undefined;
  const trailing = beforeTrailingAi(text);
  const colon = text.search(/[:]/);
  const words = trailing ?? (colon >= 0 ? text.slice(colon + 1) : "");
  const body = tidy(words.trim().replace(/^["“]|["”]$/g, ""));
  if (body.length < 3) {
    return ask(
      "create_ticket_with_ai",
      'What did the customer write? Paste it after a colon: "file with AI: …"?',
    );
  }
  return call("create_ticket_with_ai", { text: body.slice(0, 5_000) });
}
const CREATE_TICKET_NUMBERED = /\b(?:ticket|#)\s*\d/i;
