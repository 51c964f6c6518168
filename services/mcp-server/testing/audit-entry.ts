import type { AuditEntry } from "../data/audit-log.js";

/** An audit row as a tool call's would be, with `fields` set: a user's own `get_ticket`, allowed. */
export function auditEntry(fields: Partial<AuditEntry> = {}): AuditEntry {
  return {
    userId: "user-1",
    email: "agent@company.com",
    actorSub: null,
    actorAgent: null,
    actorChain: [],
    anonymous: false,
    tool: "get_ticket",
    arguments: {},
    outcome: "ok",
    errorCode: null,
    error: null,
    durationMs: 1,
    traceId: null,
    requestId: null,
    sessionId: null,
    ...fields,
  };
}
