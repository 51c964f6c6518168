import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { TOOL_NAMES, TOOL_SCOPES } from "../../../kit/auth/scopes.js";
import type { ChatMessage, ChatRequest, ToolDefinition } from "../../../kit/model/types.js";
import { encodeToolResult } from "../../tool-result-content.js";
import { plannerSkill } from "../planner-skill.js";

/**
 * The planner's corpus (requests.jsonl): requests as support engineers type them, each with the
 * tool calls and arguments it must lead to. `"$1"` in an expected argument is the ticket the first
 * call's result named (the created or found ticket carried forward). `recent` is a ticket the
 * thread talked about just before; `ask` means the right answer is a question and no call.
 */
export interface CorpusEntry {
  /**
   * The file it comes from: requests (written first), holdout and unseen (written later, their
   * misses fixed), blind (written last and never tuned for: its score is the honest estimate).
   */
  readonly set: string;
  readonly kind: string;
  readonly text: string;
  readonly expect: readonly (readonly [string, Record<string, unknown>])[];
  readonly ask?: boolean;
  readonly recent?: number;
}

export interface CorpusRun {
  readonly calls: readonly { readonly name: string; readonly args: Record<string, unknown> }[];
  /** The ticket each call's (simulated) result named, by call position. */
  readonly tickets: readonly (number | undefined)[];
  readonly answer: string;
}

/** Every request of every corpus file (`*.jsonl` beside this module), in file order. */
export function loadCorpus(): CorpusEntry[] {
  const dir = fileURLToPath(new URL(".", import.meta.url));
  const files = ["requests.jsonl", "holdout.jsonl", "unseen.jsonl", "blind.jsonl"].filter((f) =>
    readdirSync(dir).includes(f),
  );
  return files.flatMap((file) =>
    readFileSync(`${dir}/${file}`, "utf8")
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => ({
        set: file.replace(/\.jsonl$/, ""),
        ...(JSON.parse(line) as Omit<CorpusEntry, "set">),
      })),
  );
}

export const ALL_TOOL_DEFINITIONS: readonly ToolDefinition[] = TOOL_NAMES.map((name) => ({
  name,
  description: `${name} (${TOOL_SCOPES[name]}).`,
  parameters: { type: "object" },
}));

export const SYSTEM_PROMPT = "You are the support assistant of the helpdesk.";

/** The first request the planner sees for an entry: system prompt, the thread, the new message. */
export function firstRequest(entry: CorpusEntry, tools = ALL_TOOL_DEFINITIONS): ChatRequest {
  const thread: ChatMessage[] =
    entry.recent === undefined
      ? []
      : [
          { role: "user", content: `show ticket ${entry.recent}` },
          { role: "assistant", content: `Ticket #${entry.recent} "Printer jam": open, medium, unassigned.` },
        ];
  return {
    messages: [{ role: "system", content: SYSTEM_PROMPT }, ...thread, { role: "user", content: entry.text }],
    tools,
    toolChoice: "auto",
  };
}

/**
 * Runs an entry through the planner the way the agent loop does, with a simulated MCP server:
 * a create makes ticket 901, 902, …; a search finds exactly ticket 500; a listing returns two.
 */
export function runEntry(entry: CorpusEntry, tools = ALL_TOOL_DEFINITIONS, maxTurns = 8): CorpusRun {
  const request = firstRequest(entry, tools);
  const messages = [...request.messages];
  const calls: { name: string; args: Record<string, unknown> }[] = [];
  const tickets: (number | undefined)[] = [];
  let created = 900;
  for (let turn = 0; turn < maxTurns; turn++) {
    const answer = plannerSkill.answer({ ...request, messages });
    if (!answer) return { calls, tickets, answer: "" };
    if (!answer.toolCalls || answer.toolCalls.length === 0)
      return { calls, tickets, answer: answer.content ?? "" };
    messages.push({ role: "assistant", content: answer.content, toolCalls: answer.toolCalls });
    for (const call of answer.toolCalls) {
      const args = JSON.parse(call.arguments) as Record<string, unknown>;
      const { ticket, content } = simulate(call.name, args, () => ++created);
      calls.push({ name: call.name, args });
      tickets.push(ticket);
      messages.push({ role: "tool", toolCallId: call.id, content });
    }
  }
  return { calls, tickets, answer: "(turn limit)" };
}

function simulate(
  name: string,
  args: Record<string, unknown>,
  nextId: () => number,
): { ticket: number | undefined; content: string } {
  const ticketOf = (id: number) => ({ id, title: "Ticket", status: "open", priority: "medium" });
  switch (name) {
    case "create_ticket":
    case "create_ticket_with_ai": {
      const id = nextId();
      return {
        ticket: id,
        content: encodeToolResult({
          ok: true,
          text: `Created ticket #${id}.`,
          data: { ticket: ticketOf(id) },
        }),
      };
    }
    case "search_tickets":
      return {
        ticket: 500,
        content: encodeToolResult({
          ok: true,
          text: "1 ticket(s) match.",
          data: { total: 1, tickets: [ticketOf(500)] },
        }),
      };
    case "list_tickets":
      return {
        ticket: undefined,
        content: encodeToolResult({
          ok: true,
          text: "2 ticket(s) match.",
          data: { total: 2, tickets: [ticketOf(31), ticketOf(32)] },
        }),
      };
    default: {
      const id = typeof args.ticket_id === "number" ? args.ticket_id : undefined;
      return {
        ticket: id,
        content: encodeToolResult({
          ok: true,
          text: `${name} done.`,
          ...(id ? { data: { ticket: ticketOf(id) } } : {}),
        }),
      };
    }
  }
}
