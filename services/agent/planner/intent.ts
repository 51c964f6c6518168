import type { ToolName } from "#kit/contract/index.js";
import type { Pronoun } from "./ticket-refs.js";

export type Args = Readonly<Record<string, unknown>>;

/** What the planner understood one clause of a message to be, before "it" is resolved. */
export type ClauseIntent =
  /** "What tools can you call?": answered from the tool definitions, no call. */
  | { readonly kind: "tools" }
  /** Nothing the planner can act on with confidence. */
  | { readonly kind: "unknown" }
  /** Understood, but a detail is missing: ask for it (names the tool it would use). */
  | { readonly kind: "ask"; readonly tool: ToolName; readonly question: string }
  /**
   * A call that needs no ticket of the conversation (create, list, search, stats, …). `notes` name
   * what the request asked that the call cannot apply ("since last week" on a tool with no date
   * filter): the answer says them, so no constraint is silently dropped.
   */
  | {
      readonly kind: "call";
      readonly tool: ToolName;
      readonly args: Args;
      readonly notes?: readonly string[];
    }
  /**
   * A call on tickets: those numbered in the clause, else the one(s) a pronoun or the thread names.
   * `args` lacks `ticket_id`; the plan adds it, one call per ticket.
   */
  | {
      readonly kind: "ticket";
      readonly tool: ToolName;
      readonly args: Args;
      readonly numbers: readonly number[];
      readonly pronoun: Pronoun;
    };

export const call = (tool: ToolName, args: Args = {}, notes: readonly string[] = []): ClauseIntent => ({
  kind: "call",
  tool,
  args,
  ...(notes.length > 0 ? { notes } : {}),
});
export const ask = (tool: ToolName, question: string): ClauseIntent => ({ kind: "ask", tool, question });
