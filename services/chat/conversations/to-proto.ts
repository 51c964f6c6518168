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
} from "../../../gen/supportext/agent/v1/agent_pb.js";
import {
  type Message,
  MessageSchema,
  MessageStatus,
  type Thread,
  ThreadSchema,
} from "../../../gen/supportext/chat/v1/chat_pb.js";
import type { MessageRow, MessageStatus as StoredStatus, ThreadRow } from "./thread-store.js";

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
};

export function messageToProto(row: MessageRow): Message {
  return create(MessageSchema, {
    id: row.id,
    threadId: row.thread_id,
    role: row.role === "user" ? Role.USER : Role.ASSISTANT,
    content: row.content,
    toolCalls: row.tool_calls.map((c) =>
      fromJson(ToolCallSchema, c as JsonValue, { ignoreUnknownFields: true }),
    ),
    status: STATUS[row.status],
    ...(row.usage
      ? { usage: fromJson(UsageSchema, row.usage as JsonValue, { ignoreUnknownFields: true }) }
      : {}),
    createTime: timestampFromDate(row.created_at),
    stopReason: row.stop_reason ? stopReasonFromName(row.stop_reason) : StopReason.UNSPECIFIED,
  });
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
