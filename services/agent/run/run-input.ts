import { Code, ConnectError } from "@connectrpc/connect";
import {
  type ConversationMessage,
  Role,
  type RunRequest,
  type ToolCall,
} from "#gen/supportext/agent/v1/agent_pb.js";
import type { ChatMessage } from "#kit/model/index.js";
import { MAX_ARGUMENTS_BYTES, MAX_TOOL_NAME_CHARS } from "./agent-loop.js";

export const MAX_INPUT_CHARS = 8_000;
export const MAX_HISTORY_MESSAGES = 50;
export const MAX_HISTORY_MESSAGE_CHARS = 16_000;
const MAX_THREAD_ID_CHARS = 128;
/** The loop's ids: a model's id clipped to 64 characters, and "~n" when it repeats (agent-loop.ts). */
const MAX_CALL_ID_CHARS = 80;
/**
 * More calls than any agent's limit allows: a turn's record holds at most its limit, but an operator
 * may lower the limit after, and the loop stops at the current one anyway (agent-loop.ts).
 */
const MAX_MADE_CALLS = 1_000;

/** Checks a Run request's own fields (the agent is checked by the registry). */
export function validateRunRequest(req: RunRequest): void {
  if (req.input.trim() === "") throw invalid("input: required");
  if (req.input.length > MAX_INPUT_CHARS) throw invalid(`input: at most ${MAX_INPUT_CHARS} characters`);
  if (req.history.length > MAX_HISTORY_MESSAGES) {
    throw invalid(`history: at most ${MAX_HISTORY_MESSAGES} messages`);
  }
  for (const [i, m] of req.history.entries()) {
    if (m.role !== Role.USER && m.role !== Role.ASSISTANT && m.role !== Role.SYSTEM) {
      // A tool result means nothing to a model without the call it answers, which history lacks.
      throw invalid(`history[${i}].role: must be ROLE_USER, ROLE_ASSISTANT or ROLE_SYSTEM`);
    }
    if (m.content.length > MAX_HISTORY_MESSAGE_CHARS) {
      throw invalid(`history[${i}].content: at most ${MAX_HISTORY_MESSAGE_CHARS} characters`);
    }
  }
  if (req.threadId.length > MAX_THREAD_ID_CHARS)
    throw invalid(`thread_id: at most ${MAX_THREAD_ID_CHARS} characters`);
  validateMadeCalls(req.madeCalls);
}

/** Calls the agent made itself (ids as it gave them); their names and arguments go to the gateway again. */
function validateMadeCalls(made: readonly ToolCall[]): void {
  if (made.length > MAX_MADE_CALLS) throw invalid(`made_calls: at most ${MAX_MADE_CALLS}`);
  const ids = new Set<string>();
  for (const [i, c] of made.entries()) {
    if (c.id === "" || c.id.length > MAX_CALL_ID_CHARS) {
      throw invalid(`made_calls[${i}].id: 1 to ${MAX_CALL_ID_CHARS} characters`);
    }
    if (ids.has(c.id)) throw invalid(`made_calls[${i}].id: ${c.id} is given twice`);
    ids.add(c.id);
    if (c.name === "" || c.name.length > MAX_TOOL_NAME_CHARS) {
      throw invalid(`made_calls[${i}].name: 1 to ${MAX_TOOL_NAME_CHARS} characters`);
    }
    if (Buffer.byteLength(c.argumentsJson) > MAX_ARGUMENTS_BYTES) {
      throw invalid(`made_calls[${i}].arguments_json: larger than ${MAX_ARGUMENTS_BYTES} bytes`);
    }
  }
}

/** The model's view of the turn: the agent's system prompt, the thread so far, the new input. */
export function turnMessages(systemPrompt: string, req: RunRequest): ChatMessage[] {
  return [
    ...(systemPrompt ? [{ role: "system" as const, content: systemPrompt }] : []),
    ...req.history.map(historyMessage),
    { role: "user", content: req.input },
  ];
}

function historyMessage(m: ConversationMessage): ChatMessage {
  if (m.role === Role.ASSISTANT) return { role: "assistant", content: m.content };
  if (m.role === Role.SYSTEM) return { role: "system", content: m.content };
  return { role: "user", content: m.content };
}

function invalid(message: string): ConnectError {
  return new ConnectError(message, Code.InvalidArgument);
}
