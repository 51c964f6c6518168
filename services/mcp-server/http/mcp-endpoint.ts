import type { IncomingMessage, ServerResponse } from "node:http";
import { isLegacyRequest, type Server } from "@modelcontextprotocol/server";
import type { Principal } from "#kit/auth/index.js";
import type { Logger } from "#kit/log/index.js";
import { currentCallScope } from "#kit/propagation/index.js";
import type { ServiceTelemetry } from "#kit/telemetry/index.js";
import type { AuditRecorder } from "../audit/audit-recorder.js";
import { toAuthInfo } from "../auth/auth-info.js";
import type { Authenticate } from "../auth/authenticate.js";
import type { ToolCatalog } from "../mcp/tool-catalog.js";
import type { SessionRegistry } from "../session/session-registry.js";
import { observeMcpRequest } from "../telemetry.js";
import { sendAuthRefusal } from "./auth-refusal.js";
import { classificationRequest } from "./classification-request.js";
import { createLegacyServing } from "./legacy-serving.js";
import { ANSWERED, type McpRequest, refusedBeforeServing, resolveSession } from "./mcp-admission.js";
import { createModernServing } from "./modern-serving.js";
import { readJsonBody } from "./read-json-body.js";
import { RPC, sendRpcError } from "./responses.js";
import { toolCalls } from "./tool-calls.js";

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

/**
 * `/mcp` (streamable HTTP, docs/mcp-server.md): authenticate every request, bind 2025 sessions to
 * the principal that opened them, refuse out-of-scope tool calls at the HTTP layer with 403 + a
 * step-up challenge — the same for both revisions — then hand the request, with the principal in
 * `req.auth`, to the 2026-07-28 handler or to the 2025 family's serving, as the SDK classifies it.
 */
export function createMcpEndpoint(deps: McpEndpointDeps) {
  const knownTools = { has: (name: string) => deps.catalog.get(name) !== undefined };
  const serveLegacy = createLegacyServing({
    sessions: deps.sessions,
    createServer: deps.createServer,
    logger: deps.logger,
  });
  const modern = createModernServing({ createServer: deps.createServer, logger: deps.logger });

  async function handleMcp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!allowedMethod(req, res)) return;
    const auth = await deps.authenticate(req.headers.authorization);
    if (!auth.ok) return sendAuthRefusal(res, auth, deps.resourceMetadataUrl);
    await deps.recordUser(auth.principal);
    const body = await readPostBody(req, res, deps.maxBodyBytes);
    if (body === ANSWERED) return;
    const sessionId = header(req, "mcp-session-id");
    observeMcpRequest(deps.telemetry, knownTools, req, res, body, sessionId);
    const request = describeRequest(auth.principal, body, sessionId);
    const session = await resolveSession(deps, request, res);
    if (session === ANSWERED || (await refusedBeforeServing(deps, request, res))) return;
    const authed = Object.assign(req, { auth: toAuthInfo(auth.principal, auth.token, deps.resource) });
    // A session id is a 2025 request; otherwise the SDK's own classification decides (the `_meta`
    // envelope claim), so this routing can never disagree with what the handler would serve.
    if (session === undefined && !(await isLegacyRequest(classificationRequest(req), body))) {
      await modern.serve(authed, res, body);
      return;
    }
    await serveLegacy(authed, res, body, auth.principal, session);
  }

  return Object.assign(handleMcp, { close: () => modern.close() });
}

function allowedMethod(req: IncomingMessage, res: ServerResponse): boolean {
  const method = req.method ?? "GET";
  if (method === "POST" || method === "GET" || method === "DELETE") return true;
  sendRpcError(res, 405, RPC.serverError, "Method not allowed", { headers: { allow: "GET, POST, DELETE" } });
  return false;
}

/** A POST's JSON body (undefined for GET and DELETE), or ANSWERED when it was refused. */
async function readPostBody(
  req: IncomingMessage,
  res: ServerResponse,
  maxBytes: number,
): Promise<unknown | typeof ANSWERED> {
  if (req.method !== "POST") return undefined;
  const read = await readJsonBody(req, maxBytes);
  if (read.ok) return read.value;
  sendRpcError(res, read.status, read.rpcCode, read.message);
  return ANSWERED;
}

function describeRequest(principal: Principal, body: unknown, sessionId: string | undefined): McpRequest {
  const scope = currentCallScope();
  return {
    principal,
    body,
    calls: toolCalls(body),
    facts: { principal, sessionId, traceId: scope?.trace?.traceId, requestId: scope?.requestId },
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}
