import type { ServerResponse } from "node:http";
import { hasScopes, insufficientScopeChallenge, type Principal } from "#kit/auth/index.js";
import type { Logger } from "#kit/log/index.js";
import type { ServiceTelemetry } from "#kit/telemetry/index.js";
import { type AuditRecorder, auditEntry, type CallFacts } from "../audit/audit-recorder.js";
import { agentAllows } from "../auth/agent-tools.js";
import type { ToolCatalog } from "../mcp/tool-catalog.js";
import { nameForLog } from "../mcp/tool-runner.js";
import { type McpSession, ownerKey, type SessionRegistry } from "../session/session-registry.js";
import { RPC, sendRpcError } from "./responses.js";
import {
  invalidArgumentsEntry,
  isArgumentObject,
  NOT_AN_OBJECT,
  type ToolCallMessage,
} from "./tool-calls.js";

/** One authenticated request on `/mcp`, its body read. */
export interface McpRequest {
  readonly principal: Principal;
  readonly body: unknown;
  readonly calls: readonly ToolCallMessage[];
  readonly facts: CallFacts;
}

export interface AdmissionDeps {
  readonly sessions: SessionRegistry;
  readonly catalog: ToolCatalog;
  readonly audit: AuditRecorder;
  readonly logger: Logger;
  readonly resourceMetadataUrl: string;
  readonly telemetry?: ServiceTelemetry;
}

/** The request was answered here (refused): the caller stops. */
export const ANSWERED = Symbol("answered");

/**
 * The 2025 session the request names, if any, checked to be its principal's before it counts as
 * used (a stranger must not keep it alive): unknown → 404 (initialize again, transport spec),
 * another principal's → 403, audited.
 */
export async function resolveSession(
  deps: AdmissionDeps,
  request: McpRequest,
  res: ServerResponse,
): Promise<McpSession | undefined | typeof ANSWERED> {
  const { sessionId } = request.facts;
  if (sessionId === undefined) return undefined;
  const found = deps.sessions.lookup(sessionId, ownerKey(request.principal));
  if (found.status === "ok") return found.session;
  if (found.status === "not_found") {
    sendRpcError(res, 404, RPC.sessionNotFound, "Session not found");
    return ANSWERED;
  }
  deps.logger.warn(
    { session_id: sessionId, session_user_id: found.session.userId },
    "MCP session refused: it belongs to another principal",
  );
  await auditRefusal(deps, request, "session_not_owned", "the MCP session belongs to another principal");
  sendRpcError(res, 403, RPC.forbidden, "Forbidden: this MCP session belongs to another principal", {
    id: request.calls[0]?.id ?? null,
  });
  return ANSWERED;
}

/**
 * What this server refuses before the SDK sees the request, the same for both revisions: a call
 * whose arguments are not an object (the SDK would answer an internal error and write no audit
 * row; in a legacy batch it still answers, but each such call is audited here first), and the
 * step-up signal — 403 with an `insufficient_scope` challenge — when the request names one tool
 * the token may not call. Returns true when it answered.
 */
export async function refusedBeforeServing(
  deps: AdmissionDeps,
  request: McpRequest,
  res: ServerResponse,
): Promise<boolean> {
  const { body, calls, facts } = request;
  const badArguments = calls.filter((c) => !isArgumentObject(c.arguments));
  if (Array.isArray(body)) {
    for (const call of badArguments) await deps.audit.record(invalidArgumentsEntry(facts, call));
    return false;
  }
  const call = calls.length === 1 ? calls[0] : undefined;
  if (call === undefined) return false;
  if (await refusedForScope(deps, request, call, res)) return true;
  if (badArguments.length === 0) return false;
  await deps.audit.record(invalidArgumentsEntry(facts, call));
  sendRpcError(res, 200, RPC.invalidParams, NOT_AN_OBJECT, { id: call.id });
  return true;
}

async function refusedForScope(
  deps: AdmissionDeps,
  request: McpRequest,
  call: ToolCallMessage,
  res: ServerResponse,
): Promise<boolean> {
  const required = deps.catalog.scopeOf(call.name);
  // A tool outside the agent's allow-list is the tool runner's refusal (agent_not_allowed, a tool
  // error): a step-up challenge would ask the user for a scope that cannot help.
  if (required === undefined || !agentAllows(request.principal, call.name)) return false;
  if (hasScopes(request.principal, [required])) return false;
  const message = `insufficient_scope: ${call.name} requires scope "${required}", which this token does not have`;
  await auditRefusal(deps, request, "insufficient_scope", message);
  sendRpcError(res, 403, RPC.forbidden, message, {
    id: call.id,
    data: { error: "insufficient_scope", scope: required, tool: call.name },
    headers: { "www-authenticate": insufficientScopeChallenge(required, message, deps.resourceMetadataUrl) },
  });
  return true;
}

/** One audit row and one log line per refused tool call, and the refusal counted. */
async function auditRefusal(
  deps: AdmissionDeps,
  request: McpRequest,
  errorCode: string,
  error: string,
): Promise<void> {
  deps.telemetry?.authRefusals.inc({ credential: "user", reason: errorCode });
  for (const call of request.calls) {
    await deps.audit.record(
      auditEntry(request.facts, call.name, call.arguments, {
        outcome: "refused",
        errorCode,
        error,
        durationMs: 0,
      }),
    );
    const shown = nameForLog(call.name);
    deps.logger.warn(
      { tool: shown, outcome: "refused", error_code: errorCode },
      `tool ${shown} refused: ${errorCode}`,
    );
  }
}
