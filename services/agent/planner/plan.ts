import type { ToolName } from "#kit/contract/index.js";
import type { RunClock } from "../registry/run-context.js";
import { clauseIntent } from "./clause-intent.js";
import { splitClauses } from "./clauses.js";
import { CREATE_TICKET, endsWithAiRequest } from "./create-ticket-intent.js";
import type { Args, ClauseIntent } from "./intent.js";
import { normalize } from "./normalize.js";

/**
 * A message's plan: its steps in the order they were asked. A step that works on a ticket created
 * or found by an earlier step names that step (`from`); its `ticket_id` is filled in once the
 * earlier step's result is back.
 */
export type Step =
  | { readonly kind: "tools"; readonly clause: string }
  /** A question back: a detail is missing, or nothing could be read with confidence (`tool` unset). */
  | { readonly kind: "ask"; readonly clause: string; readonly question: string; readonly tool?: ToolName }
  | {
      readonly kind: "call";
      readonly clause: string;
      readonly tool: ToolName;
      readonly args: Args;
      readonly from?: number;
      /** What was asked that the call cannot apply, said with its result. */
      readonly notes?: readonly string[];
    };

/** The tools whose result names the ticket a later "it" means. */
const FINDS_A_TICKET: ReadonlySet<string> = new Set([
  "create_ticket",
  "create_ticket_with_ai",
  "search_tickets",
]);

type Subject = { readonly ids: readonly number[] } | { readonly from: number };

/**
 * `threadTicket`: the ticket the conversation was about before this message, if one. `clock`: the
 * run context's date and time zone, for "today" or "since last week".
 */
export function planMessage(message: string, threadTicket?: number, clock?: RunClock): Step[] {
  const text = normalize(message);
  // "<the customer's words>, file this with AI": everything before the request is its text.
  let clauses = endsWithAiRequest(text) ? [text] : mergeCreateDetails(splitClauses(text));
  let intents = clauses.map((c) => clauseIntent(c, clock));
  if (clauses.length > 1 && intents.some((i) => i.kind === "unknown")) {
    // A split that leaves a piece unreadable was probably wrong ("customer replied on 41, reopen").
    const whole = clauseIntent(text, clock);
    // Never for a create: its free text would swallow the other clauses' words.
    if (whole.kind === "ticket") {
      clauses = [text];
      intents = [whole];
    }
  }

  const steps: Step[] = [];
  let subject: Subject | undefined;
  for (const [i, intent] of intents.entries()) {
    const next = stepsOf(intent, clauses[i] ?? text, subject, threadTicket);
    let last = -1;
    for (const step of next.steps) last = addStep(steps, step);
    if (next.subject === "self") subject = { from: last };
    else if (next.subject !== undefined) subject = next.subject;
  }
  return steps;
}

/**
 * Adds a step, or folds it into what is there: "#8 is fixed, mark it resolved" says one thing
 * twice and is done once; "rename 41 to X and make it high priority" is one update of ticket 41.
 * Returns the step's index. Steps that find a ticket are never folded (a later step may name them).
 */
function addStep(steps: Step[], step: Step): number {
  if (step.kind !== "call" || FINDS_A_TICKET.has(step.tool)) return steps.push(step) - 1;
  const previous = steps.at(-1);
  if (previous?.kind === "call" && keyOf(previous) === keyOf(step)) return steps.length - 1;
  // "that one's done, close it": two statuses for one ticket in a row; the last one said counts.
  if (
    previous?.kind === "call" &&
    step.tool === "update_ticket_status" &&
    previous.tool === "update_ticket_status" &&
    step.from === previous.from &&
    step.args.ticket_id === previous.args.ticket_id
  ) {
    steps[steps.length - 1] = step;
    return steps.length - 1;
  }
  if (
    previous?.kind === "call" &&
    step.tool === "update_ticket" &&
    previous.tool === "update_ticket" &&
    step.from === previous.from &&
    step.args.ticket_id === previous.args.ticket_id
  ) {
    steps[steps.length - 1] = { ...previous, args: { ...previous.args, ...step.args } };
    return steps.length - 1;
  }
  return steps.push(step) - 1;
}

const keyOf = (s: Step) => (s.kind === "call" ? `${s.tool}|${JSON.stringify(s.args)}|${s.from ?? ""}` : "");

function stepsOf(
  intent: ClauseIntent,
  clause: string,
  subject: Subject | undefined,
  threadTicket: number | undefined,
): { steps: Step[]; subject?: Subject | "self" } {
  switch (intent.kind) {
    case "tools":
      return { steps: [{ kind: "tools", clause }] };
    case "unknown":
      return { steps: [{ kind: "ask", clause, question: "" }] };
    case "ask":
      return { steps: [{ kind: "ask", clause, question: intent.question, tool: intent.tool }] };
    case "call":
      return {
        steps: [
          {
            kind: "call",
            clause,
            tool: intent.tool,
            args: intent.args,
            ...(intent.notes ? { notes: intent.notes } : {}),
          },
        ],
        ...(FINDS_A_TICKET.has(intent.tool) ? { subject: "self" as const } : {}),
      };
    case "ticket": {
      const target: Subject | undefined =
        intent.numbers.length > 0
          ? { ids: intent.numbers }
          : (subject ?? (threadTicket !== undefined ? { ids: [threadTicket] } : undefined));
      if (!target) {
        return {
          steps: [
            {
              kind: "ask",
              clause,
              tool: intent.tool,
              question: "Which ticket do you mean? Give its number, e.g. #12?",
            },
          ],
        };
      }
      if ("from" in target) {
        return {
          steps: [{ kind: "call", clause, tool: intent.tool, args: intent.args, from: target.from }],
          subject: target,
        };
      }
      if (intent.pronoun === "singular" && intent.numbers.length === 0 && target.ids.length > 1) {
        const list = target.ids.map((id) => `#${id}`).join(", ");
        return {
          steps: [{ kind: "ask", clause, tool: intent.tool, question: `Which one do you mean: ${list}?` }],
        };
      }
      return {
        steps: target.ids.map((id) => ({
          kind: "call" as const,
          clause,
          tool: intent.tool,
          args: { ticket_id: id, ...intent.args },
        })),
        subject: target,
      };
    }
  }
}

/** "create a ticket: …, assign to me": an assignee right after a create belongs to the create. */
function mergeCreateDetails(clauses: string[]): string[] {
  const merged: string[] = [];
  for (const clause of clauses) {
    const previous = merged.at(-1);
    if (previous !== undefined && CREATE_TICKET.test(previous) && /^assign(?:ed)?\s+to\b/i.test(clause)) {
      merged[merged.length - 1] = `${previous}, ${clause}`;
    } else merged.push(clause);
  }
  return merged;
}
