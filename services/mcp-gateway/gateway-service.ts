import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import {
  type CallToolResult,
  type InputRequiredResult,
  isInputRequiredResult,
  type Tool as McpTool,
} from "@modelcontextprotocol/client";
import {
  type CallToolResponse,
  McpGatewayService,
  type Tool,
  ToolSchema,
} from "#gen/supportext/mcpgateway/v1/mcp_gateway_pb.js";
import { isToolName, scopesForTools, TOOL_NAMES, TOOL_SCOPES } from "#kit/contract/index.js";
import { exceedsNesting } from "#kit/input/index.js";
import type { Logger } from "#kit/log/index.js";
import { decodePageToken, encodePageToken, isOffset, pageSizeOf } from "#kit/paging/index.js";
import {
  isValidIdempotencyKey,
  kCaller,
  kCredential,
  MAX_IDEMPOTENCY_KEY_LENGTH,
  requirePrincipal,
} from "#kit/propagation/index.js";
import { classifyToolError, toConnectError } from "./errors.js";
import { type ListedTools, McpSession, type McpSessionOptions } from "./session/mcp-session.js";
import type { SessionPool } from "./session/session-pool.js";
import type { TokenSubject } from "./token/mcp-token-source.js";

const TOOLS_LIST = "mcpgateway.tools";
const MAX_ARGUMENTS_BYTES = 256 * 1024;
/** Answers are short (a yes, a form's few fields); a state is the server's signed few hundred bytes. */
const MAX_INPUT_RESPONSES_BYTES = 64 * 1024;
const MAX_REQUEST_STATE_BYTES = 16 * 1024;
const TOOL_NAME = /^[A-Za-z0-9_.-]{1,128}$/;
// Tool arguments are shallow; far below where serialising them again would overflow the stack.
const MAX_ARGUMENTS_NESTING = 64;

export interface GatewayDeps {
  readonly pool: SessionPool;
  readonly sessionOptions: McpSessionOptions;
  readonly logger: Logger;
}

// Least privilege: the MCP token carries only scopes that tools need (never e.g. audit:read); the
// identity provider narrows it further to what the proven agent's tools need.
const TOOL_SCOPE_SET = new Set<string>(scopesForTools(TOOL_NAMES));

/**
 * McpGatewayService: the caller's identity arrives as metadata (verified by the shared server
 * interceptor: the user's token, and the agent service's credential naming the agent it runs),
 * and each call runs on the caller's own MCP session, whose transport turns that identity into
 * the `Authorization` header on the MCP server. What the agent may call is decided — and audited —
 * by the MCP server from the exchanged token's agent allow-list: one decision point, one audit row.
 */
export function gatewayRoutes(deps: GatewayDeps): (router: ConnectRouter) => void {
  function sessionFor(ctx: HandlerContext): McpSession {
    const principal = requirePrincipal(ctx);
    // Set only by a verified service credential (the kit's authentication gate); absent for direct development calls.
    const caller = ctx.values.get(kCaller);
    const agentId = caller?.agent ?? "";
    const subject: TokenSubject = {
      principal,
      credential: ctx.values.get(kCredential),
      agentId,
      actorToken: caller?.token,
      scopes: principal.scopes.filter((s) => TOOL_SCOPE_SET.has(s)),
    };
    // One session per principal: login session × user × agent. Nothing else ever shares it.
    const key = sessionKey(principal.sessionId, principal.userId, agentId);
    const session = deps.pool.acquire(key, () => new McpSession(key, subject, deps.sessionOptions));
    session.updateSubject(subject);
    return session;
  }

  return (router) =>
    router.service(McpGatewayService, {
      async listTools(req, ctx) {
        // page_size 0: every tool in one answer (what the agent wants); otherwise pages of ≤ 100.
        const size = pageSizeOf(req.pageSize, { defaultSize: Number.POSITIVE_INFINITY, maxSize: 100 });
        const offset = decodePageToken(TOOLS_LIST, req.pageToken, isOffset) ?? 0;
        const session = sessionFor(ctx);
        let listed: ListedTools;
        try {
          listed = await session.listTools(ctx.signal, ctx.timeoutMs());
        } catch (err) {
          throw toConnectError(err);
        }
        // The MCP server lists only what this token (the user's scopes, the agent's tools) may call.
        const tools = protoToolsOf(listed.tools);
        const end = Math.min(tools.length, offset + size);
        return {
          tools: tools.slice(offset, end),
          nextPageToken: end < tools.length ? encodePageToken(TOOLS_LIST, end) : "",
          ttlMs: Math.floor(Math.max(0, Math.min(listed.freshUntil - Date.now(), 0xffff_ffff))),
        };
      },

      async callTool(req, ctx) {
        if (!TOOL_NAME.test(req.name))
          throw new ConnectError("name: a tool name is required", Code.InvalidArgument);
        const args = parseArguments(req.argumentsJson);
        const idempotencyKey = idempotencyKeyOf(req.idempotencyKey);
        const inputResponses = parseInputResponses(req.inputResponsesJson);
        const requestState = requestStateOf(req.requestState);
        const session = sessionFor(ctx);
        let result: CallToolResult | InputRequiredResult;
        try {
          result = await session.callTool(req.name, args, {
            signal: ctx.signal,
            // The caller's deadline (what is left of the agent's turn), not a fixed bound: a busy
            // machine is waited for, only an outage fails the call (docs/mcp-gateway.md, "Deadlines").
            timeoutMs: ctx.timeoutMs(),
            idempotent: isReadOnly(req.name),
            ...(idempotencyKey ? { idempotencyKey } : {}),
            ...(inputResponses ? { inputResponses } : {}),
            ...(requestState ? { requestState } : {}),
          });
        } catch (err) {
          // An unknown tool is the server's protocol error; a tool-level not_found is a missing row.
          throw offeredToolRefused(session, toConnectError(err), Code.NotFound);
        }
        try {
          return toResponse(result);
        } catch (err) {
          throw offeredToolRefused(session, ConnectError.from(err));
        }
      },
    });
}

/** The pool key of a principal's MCP session; the login session first, so a revoked one is found by prefix. */
export function sessionKey(sessionId: string, userId: string, agentId: string): string {
  return `${sessionKeyPrefix(sessionId)}${userId}|${agentId}`;
}

/** What every pool key of a login session's MCP sessions starts with. */
export function sessionKeyPrefix(sessionId: string): string {
  return `${sessionId}|`;
}

// Reads have no side effects: an ambiguous transport failure may be retried on a fresh session.
function isReadOnly(tool: string): boolean {
  return isToolName(tool) && TOOL_SCOPES[tool].endsWith(":read");
}

/**
 * The call's idempotency key, forwarded to the MCP server in `_meta` (docs/mcp-gateway.md, "Faults").
 * It is the caller's own name for the call; the MCP server scopes it to the verified user.
 */
function idempotencyKeyOf(key: string): string | undefined {
  if (key === "") return undefined;
  if (!isValidIdempotencyKey(key)) {
    throw new ConnectError(
      `idempotency_key: at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters, no control characters`,
      Code.InvalidArgument,
    );
  }
  return key;
}

function parseArguments(json: string): Record<string, unknown> {
  if (json.trim() === "") return {};
  return parseObject("arguments_json", json, MAX_ARGUMENTS_BYTES);
}

/** The user's answers to a tool's questions (MCP InputResponses); undefined when none. */
function parseInputResponses(json: string): Record<string, unknown> | undefined {
  if (json.trim() === "") return undefined;
  return parseObject("input_responses_json", json, MAX_INPUT_RESPONSES_BYTES);
}

function requestStateOf(state: string): string | undefined {
  if (state === "") return undefined;
  if (Buffer.byteLength(state) > MAX_REQUEST_STATE_BYTES) {
    throw new ConnectError(
      `request_state: larger than ${MAX_REQUEST_STATE_BYTES} bytes`,
      Code.InvalidArgument,
    );
  }
  return state;
}

function parseObject(field: string, json: string, maxBytes: number): Record<string, unknown> {
  if (Buffer.byteLength(json) > maxBytes) {
    throw new ConnectError(`${field}: larger than ${maxBytes} bytes`, Code.InvalidArgument);
  }
  if (exceedsNesting(json, MAX_ARGUMENTS_NESTING)) {
    throw new ConnectError(
      `${field}: nested deeper than ${MAX_ARGUMENTS_NESTING} levels`,
      Code.InvalidArgument,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new ConnectError(`${field}: not valid JSON`, Code.InvalidArgument);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ConnectError(`${field}: must be a JSON object`, Code.InvalidArgument);
  }
  return value as Record<string, unknown>;
}

function textOf(result: CallToolResult): string {
  return result.content
    .filter((c): c is { type: "text"; text: string } => c.type === "text")
    .map((c) => c.text)
    .join("\n");
}

function toResponse(result: CallToolResult | InputRequiredResult): Omit<CallToolResponse, "$typeName"> {
  if (isInputRequiredResult(result)) {
    // The tool asks the user first (docs/mcp-gateway.md, "Questions to the user"): its questions and
    // the server's state go back as they are; nothing ran.
    return {
      text: "",
      structuredContentJson: "",
      isError: false,
      inputRequired: {
        $typeName: "supportext.mcpgateway.v1.InputRequired",
        inputRequestsJson: JSON.stringify(result.inputRequests ?? {}),
        requestState: result.requestState ?? "",
      },
    };
  }
  const text = textOf(result);
  if (result.isError) {
    const code = classifyToolError(text);
    if (code !== undefined) throw new ConnectError(text.slice(0, 1000), code);
  }
  return {
    text,
    structuredContentJson: result.structuredContent ? JSON.stringify(result.structuredContent) : "",
    isError: result.isError === true,
  };
}

/**
 * A call the server refused for who is calling (scope, the agent's allow-list) or, as a protocol
 * error, for a tool it does not know: the list that offered the tool is out of date, so the
 * session's held list goes and the next ListTools asks the server (docs/mcp-gateway.md, "Tool lists").
 */
function offeredToolRefused(session: McpSession, err: ConnectError, alsoCode?: Code): ConnectError {
  if (err.code === Code.PermissionDenied || err.code === alsoCode) session.forgetTools();
  return err;
}

/**
 * A held list (`ListedTools`) is the same array until it expires: it is converted once, not on
 * every ListTools it answers.
 */
const protoTools = new WeakMap<readonly McpTool[], Tool[]>();

function protoToolsOf(tools: readonly McpTool[]): Tool[] {
  let converted = protoTools.get(tools);
  if (!converted) {
    converted = tools.map((t) => create(ToolSchema, toProtoTool(t)));
    protoTools.set(tools, converted);
  }
  return converted;
}

function toProtoTool(t: McpTool): Omit<Tool, "$typeName"> {
  return {
    name: t.name,
    title: t.title ?? t.annotations?.title ?? "",
    description: t.description ?? "",
    inputSchemaJson: JSON.stringify(t.inputSchema),
    outputSchemaJson: t.outputSchema ? JSON.stringify(t.outputSchema) : "",
    annotations: {
      $typeName: "supportext.mcpgateway.v1.ToolAnnotations",
      readOnlyHint: t.annotations?.readOnlyHint ?? false,
      destructiveHint: t.annotations?.destructiveHint ?? false,
      idempotentHint: t.annotations?.idempotentHint ?? false,
    },
  };
}
