import type { ChatCompletion, ChatRequest } from "#kit/model/index.js";
import { ModelError } from "#kit/model/index.js";

/**
 * The ticket-triage task: free text → {title, category, priority}. One contract for every provider:
 * a remote model gets instructions plus a JSON schema (structured outputs); the embedded provider
 * recognises the task by the schema's name and reads the allowed values from its enums.
 */
export const TICKET_TRIAGE_TASK = "ticket_triage";

/** The values the caller's tickets accept (the service owns them, not the model). */
export interface TriageVocabulary {
  readonly categories: readonly string[];
  readonly priorities: readonly string[];
  /** Used when a model answers with a value outside the vocabulary. */
  readonly defaultCategory: string;
  readonly defaultPriority: string;
}

export interface TicketTriage {
  readonly title: string;
  readonly category: string;
  readonly priority: string;
}

export const TRIAGE_TITLE_MAX = 120;

const INSTRUCTIONS = [
  "You triage customer-support requests into tickets.",
  'Answer with one JSON object and nothing else: {"title": string, "category": string, "priority": string}.',
  `title: a short summary of the problem (at most ${TRIAGE_TITLE_MAX} characters, no priority words).`,
  "category and priority: exactly one of the allowed values in the schema.",
  "priority: urgent for outages, emergencies and anything on fire or needed ASAP; high when someone is blocked;",
  "low for questions, cosmetic issues and requests with no rush; medium otherwise.",
].join("\n");

export function ticketTriageRequest(text: string, vocabulary: TriageVocabulary): ChatRequest {
  return {
    messages: [
      { role: "system", content: INSTRUCTIONS },
      { role: "user", content: text },
    ],
    responseFormat: {
      type: "json_schema",
      name: TICKET_TRIAGE_TASK,
      strict: true,
      schema: {
        type: "object",
        additionalProperties: false,
        required: ["title", "category", "priority"],
        properties: {
          title: { type: "string", maxLength: TRIAGE_TITLE_MAX },
          category: { type: "string", enum: [...vocabulary.categories] },
          priority: { type: "string", enum: [...vocabulary.priorities] },
        },
      },
    },
    temperature: 0,
    maxTokens: 200,
  };
}

/**
 * Reads a triage answer. Lenient where a model is commonly sloppy (code fences, letter case, a
 * category outside the list → the default) and strict where nothing sensible can be made of it
 * (no JSON object, no title) — that is a `bad_response` error, never a made-up ticket.
 */
export function parseTicketTriage(completion: ChatCompletion, vocabulary: TriageVocabulary): TicketTriage {
  const raw = completion.content ?? "";
  const start = raw.indexOf("{");
  const end = raw.lastIndexOf("}");
  let parsed: Record<string, unknown>;
  try {
    if (start < 0 || end < start) throw new Error("no object");
    parsed = JSON.parse(raw.slice(start, end + 1)) as Record<string, unknown>;
  } catch {
    throw new ModelError("bad_response", "the model's triage answer is not a JSON object");
  }
  const title = typeof parsed.title === "string" ? parsed.title.replace(/\s+/g, " ").trim() : "";
  if (title.length === 0) throw new ModelError("bad_response", "the model's triage answer has no title");
  return {
    title: title.length > TRIAGE_TITLE_MAX ? `${title.slice(0, TRIAGE_TITLE_MAX - 1)}…` : title,
    category: pick(parsed.category, vocabulary.categories, vocabulary.defaultCategory),
    priority: pick(parsed.priority, vocabulary.priorities, vocabulary.defaultPriority),
  };
}

function pick(value: unknown, allowed: readonly string[], fallback: string): string {
  if (typeof value !== "string") return fallback;
  const wanted = value
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, "_");
  return allowed.find((a) => a.toLowerCase() === wanted) ?? fallback;
}
