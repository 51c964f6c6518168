import { create, fromJson, type JsonValue, toJson } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  Role,
  StopReason,
  StopReasonSchema,
  type ToolCall,
  ToolCallSchema,
  type Usage,
  UsageSchema,
} from "#gen/supportext/agent/v1/agent_pb.js";
import {
  type Confirmation,
  ConfirmationSchema,
  type Message,
  MessageSchema,
  MessageStatus,
  type Thread,
  ThreadSchema,
} from "#gen/supportext/chat/v1/chat_pb.js";
import type { MessageRow, MessageStatus as StoredStatus, ThreadRow } from "./thread-store.js";
import type { ConfirmationRow } from "./turn-store.js";

/** Rows → the chat contract's messages. Stored JSON is the agent contract's own protobuf JSON. */
export function threadToProto(row: ThreadRow): Thread {
  return create(ThreadSchema, {
    id: row.id,
    agentId: row.agent_id,
    title: row.title,
    createTime: timestampFromDate(row.created_at),
    updateTime: timestampFromDate(row.updated_at),
    messageCount: row.message_count,
  });
}

const STATUS: Record<StoredStatus, MessageStatus> = {
  complete: MessageStatus.COMPLETE,
  partial: MessageStatus.PARTIAL,
  failed: MessageStatus.FAILED,
  pending: MessageStatus.PENDING,
  interrupted: MessageStatus.INTERRUPTED,
  awaiting_confirmation: MessageStatus.AWAITING_CONFIRMATION,
};

/** A stored question as the chat contract shows it: never the agent's resume state. */
export function confirmationToProto(row: ConfirmationRow): Confirmation {
  return create(ConfirmationSchema, {
    confirmationId: row.id,
    toolCallId: row.tool_call_id,
    toolName: row.tool_name,
    argumentsJson: row.arguments_json,
    argumentsSummary: row.arguments_summary,
    question: row.question,
    action: row.action,
  });
}

/** `confirmation`: the question the message waits on, shown while its status says so. */
export function messageToProto(row: MessageRow, confirmation?: ConfirmationRow): Message {
  return create(MessageSchema, {
    id: row.id,
    threadId: row.thread_id,
    role: row.role === "user" ? Role.USER : Role.ASSISTANT,
    content: row.content,
    toolCalls: row.tool_calls.map(toolCallFromJson),
    status: STATUS[row.status],
    ...(row.usage
      ? { usage: fromJson(UsageSchema, row.usage as JsonValue, { ignoreUnknownFields: true }) }
      : {}),
    createTime: timestampFromDate(row.created_at),
    stopReason: row.stop_reason ? stopReasonFromName(row.stop_reason) : StopReason.UNSPECIFIED,
    ...(confirmation && row.status === "awaiting_confirmation"
      ? { confirmation: confirmationToProto(confirmation) }
      : {}),
  });
}

/** A tool call as the message stores it (`toolCallToJson`). */
export function toolCallFromJson(stored: unknown): ToolCall {
  return fromJson(ToolCallSchema, stored as JsonValue, { ignoreUnknownFields: true });
}

export function toolCallToJson(call: ToolCall): JsonValue {
  return toJson(ToolCallSchema, call);
}

export function usageToJson(usage: Usage): JsonValue {
  return toJson(UsageSchema, usage);
}

/** Stop reasons are stored by their proto enum name (e.g. STOP_REASON_COMPLETED): readable in SQL. */
export function stopReasonName(reason: StopReason): string {
  return StopReasonSchema.value[reason]?.name ?? "STOP_REASON_UNSPECIFIED";
}

function stopReasonFromName(name: string): StopReason {
  return StopReasonSchema.values.find((v) => v.name === name)?.number ?? StopReason.UNSPECIFIED;
}
