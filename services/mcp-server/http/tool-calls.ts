import { auditEntry, type CallFacts } from "../audit/audit-recorder.js";
import type { AuditEntry } from "../data/audit-log.js";

/** One tools/call request of a POST body. */
export interface ToolCallMessage {
  readonly id: string | number | null;
  readonly name: string;
  readonly arguments: unknown;
}

/** The tools/call requests in a POST body (one message, or a legacy JSON-RPC batch). */
export function toolCalls(body: unknown): ToolCallMessage[] {
  const messages = Array.isArray(body) ? body : [body];
  const calls: ToolCallMessage[] = [];
  for (const m of messages) {
    if (typeof m !== "object" || m === null) continue;
    const msg = m as { method?: unknown; id?: unknown; params?: { name?: unknown; arguments?: unknown } };
    if (msg.method !== "tools/call" || typeof msg.params?.name !== "string") continue;
    const id = typeof msg.id === "string" || typeof msg.id === "number" ? msg.id : null;
    calls.push({ id, name: msg.params.name, arguments: msg.params.arguments });
  }
  return calls;
}

export const NOT_AN_OBJECT = "Invalid params: tools/call arguments must be a JSON object";

/** Whether a call's arguments are what MCP allows: absent, or a JSON object. */
export function isArgumentObject(args: unknown): boolean {
  return args === undefined || (typeof args === "object" && args !== null && !Array.isArray(args));
}

/** The audit row of a call refused because its arguments are not an object. */
export function invalidArgumentsEntry(facts: CallFacts, call: ToolCallMessage): AuditEntry {
  return auditEntry(facts, call.name, call.arguments, {
    outcome: "error",
    errorCode: "invalid_arguments",
    error: NOT_AN_OBJECT,
    durationMs: 0,
  });
}
