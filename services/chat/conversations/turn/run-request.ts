import { create } from "@bufbuild/protobuf";
import {
  type ConversationMessage,
  ConversationMessageSchema,
  Role,
  type RunRequest,
  type ToolCall,
} from "#gen/supportext/agent/v1/agent_pb.js";
import type { MessageStatus, ThreadRow } from "../thread-store.js";
import type { ConfirmationRow } from "../turn-store.js";
import type { TurnDeps } from "./turn-events.js";

/** Earlier messages the agent sees as context (the agent accepts at most 50). */
const HISTORY_MESSAGES = 20;
/**
 * The agent refuses a history message longer than this (`invalid_argument`). Assistant answers have
 * no such bound (a model may write more), so one long answer must not make every later turn of the
 * thread fail: older messages are clipped to what the agent accepts.
 */
export const MAX_HISTORY_MESSAGE_CHARS = 16_000;

/** Messages that are part of the conversation the agent sees (not a turn still open). */
const SETTLED: ReadonlySet<MessageStatus> = new Set([
  "complete",
  "partial",
  "failed",
  "awaiting_confirmation",
]);

/** The conversation before the message `beforeSeq`, as the agent is given it. */
export async function conversationHistory(
  deps: TurnDeps,
  threadId: string,
  beforeSeq: number,
): Promise<ConversationMessage[]> {
  return (await deps.threads.recent(threadId, HISTORY_MESSAGES, beforeSeq))
    .filter((m) => m.content !== "" && SETTLED.has(m.status))
    .map((m) =>
      create(ConversationMessageSchema, {
        role: m.role === "user" ? Role.USER : Role.ASSISTANT,
        content: m.content.slice(0, MAX_HISTORY_MESSAGE_CHARS),
      }),
    );
}

/**
 * What AgentService.Run is asked: the turn itself — run again, with the calls it had made — or,
 * answered, where it stopped and the answer.
 */
export function runRequest(
  thread: ThreadRow,
  input: string,
  history: ConversationMessage[],
  answered: ConfirmationRow | undefined,
  madeCalls: ToolCall[] = [],
): Omit<RunRequest, "$typeName"> {
  return {
    agentId: thread.agent_id,
    input,
    history,
    threadId: thread.id,
    madeCalls,
    ...(answered && answered.confirmed !== null
      ? {
          resume: {
            $typeName: "supportext.agent.v1.ResumeTurn",
            state: Buffer.from(answered.resume_state, "base64"),
            confirmed: answered.confirmed,
          },
        }
      : {}),
  };
}

/** The turn's current question when it is answered: a resumed turn goes on from there. */
export async function answeredConfirmation(
  deps: TurnDeps,
  messageId: string,
): Promise<ConfirmationRow | undefined> {
  const latest = await deps.turns.latestConfirmation(messageId);
  return latest?.confirmed === null ? undefined : latest;
}
