import { fromJson, type JsonValue, toJson } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { z } from "zod";
import { type ToolCall, ToolCallSchema } from "#gen/supportext/agent/v1/agent_pb.js";
import type { ChatMessage, ToolCall as ModelToolCall } from "#kit/model/index.js";

/**
 * Where a turn stopped for a confirmation (docs/agent.md, "Confirmation"): everything going on
 * from there needs, so that the model is not asked again about what it already decided (a real
 * model may decide otherwise the second time) and every call keeps its id — and so its idempotency
 * key. It travels as ConfirmationRequired.resume_state: the caller (chat) keeps it and gives it back
 * with the answer; the agent itself keeps nothing between the two.
 */
export interface PausedTurn {
  readonly v: 1;
  /** The turn's name, from which its calls' idempotency keys come (turn-id.ts). */
  readonly turnId: string | undefined;
  readonly transcript: readonly ChatMessage[];
  readonly usage: { modelTurns: number; toolCalls: number; inputTokens: number; outputTokens: number };
  /** The calls finished so far (agent.v1.ToolCall as protobuf JSON). */
  readonly calls: readonly JsonValue[];
  readonly callIds: readonly string[];
  /** The answer's text so far. */
  readonly answer: string;
  /** The calls of the model turn still to make, the one that waits first. */
  readonly pending: readonly ModelToolCall[];
  /** The question the first pending call asked. */
  readonly waiting: {
    readonly confirmationId: string;
    readonly key: string;
    readonly field: string;
    readonly requestState: string;
  };
}

const modelToolCall = z.object({ id: z.string(), name: z.string(), arguments: z.string() });
const chatMessage = z.union([
  z.object({ role: z.literal("system"), content: z.string() }),
  z.object({ role: z.literal("user"), content: z.string() }),
  z.object({
    role: z.literal("assistant"),
    content: z.string().nullable(),
    toolCalls: z.array(modelToolCall).optional(),
  }),
  z.object({ role: z.literal("tool"), toolCallId: z.string(), content: z.string() }),
]);
const count = z.number().int().nonnegative();
const pausedTurn = z.object({
  v: z.literal(1),
  turnId: z.string().optional(),
  transcript: z.array(chatMessage),
  usage: z.object({ modelTurns: count, toolCalls: count, inputTokens: count, outputTokens: count }),
  calls: z.array(z.json()),
  callIds: z.array(z.string()),
  answer: z.string(),
  pending: z.array(modelToolCall).min(1),
  waiting: z.object({
    confirmationId: z.string(),
    key: z.string(),
    field: z.string(),
    requestState: z.string(),
  }),
});

export function encodePausedTurn(turn: PausedTurn): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(turn));
}

/** The stopped turn a resume names; `invalid_argument` when the state is not one this agent made. */
export function decodePausedTurn(state: Uint8Array): PausedTurn {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(state));
  } catch {
    throw new ConnectError("resume.state: not a stopped turn of this agent service", Code.InvalidArgument);
  }
  const parsed = pausedTurn.safeParse(value);
  if (!parsed.success) {
    throw new ConnectError("resume.state: not a stopped turn of this agent service", Code.InvalidArgument);
  }
  return { ...parsed.data, turnId: parsed.data.turnId } as PausedTurn;
}

export const callToJson = (call: ToolCall): JsonValue => toJson(ToolCallSchema, call);
export const callFromJson = (json: JsonValue): ToolCall => fromJson(ToolCallSchema, json);
