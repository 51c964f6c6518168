import type { EmbeddedAnswer, EmbeddedSkill } from "../../kit/model/embedded/skill.js";
import type { ChatMessage, ChatRequest, ToolCall } from "../../kit/model/types.js";
import { describeTools, helpText, notOffered } from "./capabilities.js";
import { parseIntents } from "./intents.js";
import { summarizeResult } from "./summarize.js";

export const PLANNER_SKILL_NAME = "agent_planner";

/**
 * The agent's embedded model (brief §7): reads the last user message, calls the tools it offers
 * for what it understood, and once their results are back writes a short answer from them.
 * Deterministic: the answer depends only on the request. It never calls a tool the request does
 * not offer (that is the agent's allow-list); it says so instead.
 */
export const plannerSkill: EmbeddedSkill = {
  name: PLANNER_SKILL_NAME,
  answer(request) {
    if (request.responseFormat && request.responseFormat.type !== "text") return undefined;
    const lastUser = lastIndexOf(request.messages, "user");
    if (lastUser < 0) return undefined;
    const userText = (request.messages[lastUser] as { content: string }).content;
    const since = request.messages.slice(lastUser + 1);
    return since.some((m) => m.role === "tool")
      ? summarize(userText, since, request)
      : plan(userText, request);
  },
};

function plan(userText: string, request: ChatRequest): EmbeddedAnswer {
  const tools = request.tools ?? [];
  const offered = new Set(tools.map((t) => t.name));
  const intents = parseIntents(userText);
  if (intents.length === 0) return { content: helpText(tools) };
  if (intents.some((i) => i.kind === "list_tools")) return { content: describeTools(tools) };

  const calls: ToolCall[] = [];
  const notes: string[] = [];
  for (const intent of intents) {
    if (intent.kind === "list_tools") continue;
    if (!offered.has(intent.tool)) notes.push(notOffered(intent.tool));
    else if (intent.kind === "clarify") notes.push(intent.question);
    else
      calls.push({
        id: `call_${calls.length + 1}`,
        name: intent.tool,
        arguments: JSON.stringify(intent.args),
      });
  }
  if (calls.length === 0 || request.toolChoice === "none")
    return { content: notes.join("\n") || helpText(tools) };
  return { content: null, toolCalls: calls };
}

function summarize(userText: string, since: readonly ChatMessage[], request: ChatRequest): EmbeddedAnswer {
  const results = new Map<string, string>();
  const calls: ToolCall[] = [];
  for (const m of since) {
    if (m.role === "assistant") calls.push(...(m.toolCalls ?? []));
    if (m.role === "tool") results.set(m.toolCallId, m.content);
  }
  const paragraphs = calls.map((c) => summarizeResult(c, results.get(c.id)));
  // What the user asked for but could not be called is still owed an answer.
  const offered = new Set((request.tools ?? []).map((t) => t.name));
  for (const intent of parseIntents(userText)) {
    if (intent.kind === "list_tools") continue;
    if (!offered.has(intent.tool)) paragraphs.push(notOffered(intent.tool));
    else if (intent.kind === "clarify") paragraphs.push(intent.question);
  }
  return { content: paragraphs.join("\n\n") };
}

function lastIndexOf(messages: readonly ChatMessage[], role: ChatMessage["role"]): number {
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i]?.role === role) return i;
  return -1;
}
