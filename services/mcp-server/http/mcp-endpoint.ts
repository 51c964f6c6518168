import type { IncomingMessage, ServerResponse } from "node:http";
import { isLegacyRequest, type Server } from "@modelcontextprotocol/server";
import {
  hasScopes,
  insufficientScopeChallenge,
  invalidTokenChallenge,
  isOutage,
  missingTokenChallenge,
  type Principal,
} from "../../kit/auth/index.js";
import type { Logger } from "../../kit/log/index.js";
import { currentCallScope } from "../../kit/propagation/index.js";
import type { ServiceTelemetry } from "../../kit/telemetry/index.js";
import { type AuditRecorder, auditEntry, type CallFacts } from "../audit/audit-recorder.js";
import { agentAllows } from "../auth/agent-tools.js";
import { toAuthInfo } from "../auth/auth-info.js";
import type { Authenticate } from "../auth/authenticate.js";
import type { ToolCatalog } from "../mcp/tool-catalog.js";
import { nameForLog } from "../mcp/tool-runner.js";
import { type McpSession, ownerKey, type SessionRegistry } from "../session/session-registry.js";
import { observeMcpRequest } from "../telemetry.js";
import { classificationRequest } from "./classification-request.js";
import { createLegacyServing } from "./legacy-serving.js";
import { createModernServing } from "./modern-serving.js";
import { readJsonBody } from "./read-json-body.js";
import { RPC, sendJson, sendRpcError } from "./responses.js";

export interface McpEndpointDeps {
  readonly authenticate: Authenticate;
  readonly recordUser: (p: Principal) => Promise<void>;
  readonly sessions: SessionRegistry;
  readonly catalog: ToolCatalog;
  readonly createServer: () => Server;
  readonly audit: AuditRecorder;
  readonly logger: Logger;
  readonly resource: URL;
  readonly resourceMetadataUrl: string;
  readonly maxBodyBytes: number;
  /** The server's telemetry: MCP requests by method (docs/architecture.md, "Telemetry"). */
  readonly telemetry?: ServiceTelemetry;
}

interface ToolCallMessage {
  id: string | number | null;
  name: string;
  arguments: unknown;
}

/** The tools/call requests in a POST body (one message, or a legacy JSON-RPC batch). */
function toolCalls(body: unknown): ToolCallMessage[] {
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

/**
 * `/mcp` (streamable HTTP, docs/mcp-server.md): authenticate every request, bind 2025 sessions to
 * the principal that opened them, refuse out-of-scope tool calls at the HTTP layer with 403 + a
 * step-up challenge — the same for both revisions — then hand the request, with the principal in
 * `req.auth`, to the 2026-07-28 handler or to the 2025 family's serving, as the SDK classifies it.
 */
export function createMcpEndpoint(deps: McpEndpointDeps) {
  const { logger, sessions } = deps;
  const knownTools = { has: (name: string) => deps.catalog.get(name) !== undefined };
  const serveLegacy = createLegacyServing({ sessions, createServer: deps.createServer, logger });
  const modern = createModernServing({ createServer: deps.createServer, logger });

  const refuse = async (facts: CallFacts, calls: ToolCallMessage[], errorCode: string, error: string) => {
    deps.telemetry?.authRefusals.inc({ credential: "user", reason: errorCode });
    for (const call of calls) {
      await deps.audit.record(
        auditEntry(facts, call.name, call.arguments, { outcome: "refused", errorCode, error, durationMs: 0 }),
      );
      const shown = nameForLog(call.name);
      logger.warn(
        { tool: shown, outcome: "refused", error_code: errorCode },
        `tool ${shown} refused: ${errorCode}`,
      );
    }
  };

  async function handleMcp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? "GET";
    if (method !== "POST" && method !== "GET" && method !== "DELETE") {
      sendRpcError(res, 405, RPC.serverError, "Method not allowed", {
        headers: { allow: "GET, POST, DELETE" },
      });
      return;
    }

    const auth = await deps.authenticate(req.headers.authorization);
    if (!auth.ok) {
      const missing = auth.reason === "missing_token";
      const unavailable = isOutage(auth.reason);
      sendJson(
        res,
        unavailable ? 503 : 401,
        {
          error: missing ? "unauthorized" : unavailable ? "temporarily_unavailable" : "invalid_token",
          error_description: auth.description,
          reason: auth.reason,
        },
        unavailable
          ? { "retry-after": "5" }
          : {
              "www-authenticate": missing
                ? missingTokenChallenge(deps.resourceMetadataUrl)
                : invalidTokenChallenge(auth.description, deps.resourceMetadataUrl),
            },
      );
      return;
    }
    const { principal } = auth;
    await deps.recordUser(principal);

    let body: unknown;
    if (method === "POST") {
      const read = await readJsonBody(req, deps.maxBodyBytes);
      if (!read.ok) {
        sendRpcError(res, read.status, read.status === 400 ? RPC.parseError : RPC.serverError, read.message);
        return;
      }
      body = read.value;
    }

    const sessionId = header(req, "mcp-session-id");
    observeMcpRequest(deps.telemetry, knownTools, req, res, body, sessionId);
    const scope = currentCallScope();
    const facts: CallFacts = {
      principal,
      sessionId,
      traceId: scope?.trace?.traceId,
      requestId: scope?.requestId,
    };
    const calls = toolCalls(body);

    let session: McpSession | undefined;
    if (sessionId !== undefined) {
      // Ownership is checked before the session counts as used (a stranger must not keep it alive).
      const found = sessions.lookup(sessionId, ownerKey(principal));
      if (found.status === "not_found") {
        // 404 tells a client its session is gone and it should initialize again (transport spec).
        sendRpcError(res, 404, RPC.sessionNotFound, "Session not found");
        return;
      }
      if (found.status === "not_owned") {
        logger.warn(
          { session_id: sessionId, session_user_id: found.session.userId },
          "MCP session refused: it belongs to another principal",
        );
        await refuse(facts, calls, "session_not_owned", "the MCP session belongs to another principal");
        sendRpcError(res, 403, RPC.forbidden, "Forbidden: this MCP session belongs to another principal", {
          id: calls[0]?.id ?? null,
        });
        return;
      }
      session = found.session;
    }

    // The SDK answers a non-object argument list with an internal error and no audit row. In a
    // (legacy) batch it still answers, but each such call is audited here first.
    const badArguments = calls.filter((c) => !isArgumentObject(c.arguments));
    if (Array.isArray(body)) {
      for (const call of badArguments) await deps.audit.record(invalidArgumentsEntry(facts, call));
    }

    // Step-up signal at the HTTP layer when the request names one tool the token may not call.
    if (calls.length === 1 && !Array.isArray(body)) {
      const call = calls[0] as ToolCallMessage;
      const required = deps.catalog.scopeOf(call.name);
      // A tool outside the agent's allow-list is the tool runner's refusal (agent_not_allowed, a
      // tool error): a step-up challenge would ask the user for a scope that cannot help.
      if (required !== undefined && agentAllows(principal, call.name) && !hasScopes(principal, [required])) {
        const message = `insufficient_scope: ${call.name} requires scope "${required}", which this token does not have`;
        await refuse(facts, calls, "insufficient_scope", message);
        sendRpcError(res, 403, RPC.forbidden, message, {
          id: call.id,
          data: { error: "insufficient_scope", scope: required, tool: call.name },
          headers: {
            "www-authenticate": insufficientScopeChallenge(required, message, deps.resourceMetadataUrl),
          },
        });
        return;
      }
      if (badArguments.length > 0) {
        await deps.audit.record(invalidArgumentsEntry(facts, call));
        sendRpcError(res, 200, RPC.invalidParams, NOT_AN_OBJECT, { id: call.id });
        return;
      }
    }

    const request = Object.assign(req, { auth: toAuthInfo(principal, auth.token, deps.resource) });
    // A session id is a 2025 request; otherwise the SDK's own classification decides (the `_meta`
    // envelope claim), so this routing can never disagree with what the handler would serve.
    if (session === undefined && !(await isLegacyRequest(classificationRequest(req), body))) {
      await modern.serve(request, res, body);
      return;
    }
    await serveLegacy(request, res, body, principal, session);
  }

  return Object.assign(handleMcp, { close: () => modern.close() });
}

const NOT_AN_OBJECT = "Invalid params: tools/call arguments must be a JSON object";

function isArgumentObject(args: unknown): boolean {
  return args === undefined || (typeof args === "object" && args !== null && !Array.isArray(args));
}

function invalidArgumentsEntry(facts: CallFacts, call: ToolCallMessage) {
  return auditEntry(facts, call.name, call.arguments, {
    outcome: "error",
    errorCode: "invalid_arguments",
    error: NOT_AN_OBJECT,
    durationMs: 0,
  });
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
