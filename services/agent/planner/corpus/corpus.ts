import { readdirSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Code, ConnectError } from "@connectrpc/connect";
import { SCOPES, TOOL_NAMES, TOOL_SCOPES } from "#kit/contract/index.js";
import type { ChatMessage, ChatRequest, ToolDefinition } from "#kit/model/index.js";
import { type RunClock, runContextMessage } from "../../registry/run-context.js";
import { SEED_AGENTS } from "../../registry/seed-agents.js";
import { codeName } from "../../run/code-name.js";
import { toolErrorText } from "../../run/tool-error-text.js";
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
   * misses fixed), blind (written last and never tuned for: its score is the honest estimate),
   * constraints and constraints-blind (docs/agent.md; only the first was fixed against).
   */
  readonly set: string;
  readonly kind: string;
  readonly text: string;
  readonly expect: readonly (readonly [string, Record<string, unknown>])[];
  readonly ask?: boolean;
  readonly recent?: number;
  /** Run as this seeded agent (its tools only); the constraints files' default is support-assistant. */
  readonly agent?: string;
  /** Words the answer must contain (case-insensitive): a constraint named as not applied, a refusal. */
  readonly says?: readonly string[];
  /** Words the answer must contain exactly once: error text says each thing once. */
  readonly once?: readonly string[];
  /**
   * The simulated MCP server fails every call of `tool` the way the gateway does: a Connect `code`
   * (its name) with the tool's own `message` ("{id}" is the ticket asked for).
   */
  readonly fail?: { readonly tool: string; readonly code: string; readonly message: string };
  /** The entry runs with the agent service's run context (agents, caller, clock); see RUN_CLOCK. */
  readonly runContext?: boolean;
}

export interface CorpusRun {
  readonly calls: readonly { readonly name: string; readonly args: Record<string, unknown> }[];
  /** The ticket each call's (simulated) result named, by call position. */
  readonly tickets: readonly (number | undefined)[];
  readonly answer: string;
}

/**
 * The files, in the order they were written. The constraints files (docs/agent.md) run with the
 * run context the agent service sends (docs/agent.md, "Refusals"); the older ones were written
 * for a bare model request and run without it, as they always did.
 */
const FILES: readonly (readonly [file: string, runContext: boolean])[] = [
  ["requests.jsonl", false],
  ["holdout.jsonl", false],
  ["unseen.jsonl", false],
  ["blind.jsonl", false],
  ["constraints.jsonl", true],
  ["constraints-blind.jsonl", true],
];

/**
 * The clock of every run-context entry: 23:30 UTC on Wednesday 2026-03-18 is already 00:30 on
 * Thursday the 19th in Berlin (UTC+1 in March), so "today" read in UTC would be a day off.
 */
export const RUN_CLOCK: RunClock = { now: "2026-03-18T23:30:00.000Z", timeZone: "Europe/Berlin" };

/** Every request of every corpus file (`*.jsonl` beside this module), in file order. */
export function loadCorpus(): CorpusEntry[] {
  const dir = fileURLToPath(new URL(".", import.meta.url));
  const present = readdirSync(dir);
  return FILES.filter(([f]) => present.includes(f)).flatMap(([file, runContext]) =>
    readFileSync(`${dir}/${file}`, "utf8")
      .split("\n")
      .filter((line) => line.trim() !== "")
      .map((line) => ({
        set: file.replace(/\.jsonl$/, ""),
        ...(runContext ? { runContext } : {}),
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

/**
 * The first request the planner sees for an entry: system prompt (and run context), the thread,
 * the new message. A run-context entry is run by an admin (every scope), so the agent's
 * allow-list alone decides what is offered, as the gateway does.
 */
export function firstRequest(entry: CorpusEntry, tools = ALL_TOOL_DEFINITIONS): ChatRequest {
  const agent = SEED_AGENTS.find((a) => a.id === (entry.agent ?? "support-assistant"));
  if (entry.runContext && !agent) throw new Error(`unknown agent ${entry.agent}`);
  const system: ChatMessage[] =
    entry.runContext && agent
      ? [
          { role: "system", content: agent.systemPrompt },
          runContextMessage({
            agent: toolsOf(agent),
            caller: { roles: ["admin"], scopes: [...SCOPES] },
            agents: SEED_AGENTS.map(toolsOf),
            clock: RUN_CLOCK,
          }),
        ]
      : [{ role: "system", content: SYSTEM_PROMPT }];
  const offered =
    entry.runContext && agent ? tools.filter((t) => agent.allowedTools.includes(t.name)) : tools;
  const thread: ChatMessage[] =
    entry.recent === undefined
      ? []
      : [
          { role: "user", content: `show ticket ${entry.recent}` },
          { role: "assistant", content: `Ticket #${entry.recent} "Printer jam": open, medium, unassigned.` },
        ];
  return {
    messages: [...system, ...thread, { role: "user", content: entry.text }],
    tools: offered,
    toolChoice: "auto",
  };
}

const toolsOf = (a: (typeof SEED_AGENTS)[number]) => ({ id: a.id, name: a.name, tools: [...a.allowedTools] });

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
      const { ticket, content } =
        entry.fail?.tool === call.name
          ? failure(entry.fail, args)
          : simulate(call.name, args, () => ++created);
      calls.push({ name: call.name, args });
      tickets.push(ticket);
      messages.push({ role: "tool", toolCallId: call.id, content });
    }
  }
  return { calls, tickets, answer: "(turn limit)" };
}

/** A failed call as the agent loop reports it: the gateway's Connect error through toolErrorText. */
function failure(
  fail: NonNullable<CorpusEntry["fail"]>,
  args: Record<string, unknown>,
): { ticket: undefined; content: string } {
  const code = (Object.values(Code).filter((c) => typeof c === "number") as Code[]).find(
    (c) => codeName(c) === fail.code,
  );
  if (code === undefined) throw new Error(`unknown code ${fail.code}`);
  const err = new ConnectError(fail.message.replace("{id}", String(args.ticket_id)), code);
  return {
    ticket: undefined,
    content: encodeToolResult({ ok: false, error_code: codeName(code), error: toolErrorText(err) }),
  };
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
