import { createHash } from "node:crypto";
import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import { McpGatewayService, type Tool } from "#gen/supportext/mcpgateway/v1/mcp_gateway_pb.js";
import { SERVICE_IDS, type ServiceCredentials } from "#kit/auth/index.js";
import { createServiceClient } from "#kit/client/index.js";
import type { ToolDefinition } from "#kit/model/index.js";
import {
  forwardFrom,
  kActingAgent,
  MAX_IDEMPOTENCY_KEY_LENGTH,
  requirePrincipal,
} from "#kit/propagation/index.js";
import { callSlots } from "./call-slots.js";
import { codeName } from "./code-name.js";
import { withKeyedRetry } from "./keyed-retry.js";
import { toolErrorText } from "./tool-error-text.js";
import { createToolLists } from "./tool-lists.js";

export type ToolOutcome =
  | { readonly status: "succeeded"; readonly text: string; readonly structuredJson: string }
  | {
      /** The tool asks the user first (MCP input_required, carried by the gateway); nothing ran. */
      readonly status: "input_required";
      readonly inputRequestsJson: string;
      readonly requestState: string;
    }
  | {
      readonly status: "failed";
      /** The tool's own error text, when it ran and reported one. */
      readonly text: string;
      /** Connect code name: "permission_denied", "invalid_argument", … */
      readonly errorCode: string;
      readonly errorMessage: string;
    };

/** The user's answers to a tool's questions, sent with the call again (docs/agent.md, "Confirmation"). */
export interface ToolAnswers {
  /** MCP InputResponses JSON, keyed like the questions. */
  readonly inputResponsesJson: string;
  /** The question's request_state, as it came. */
  readonly requestState: string;
}

/** The tools of one run, bound to its caller: every call goes out as that caller, for that agent. */
export interface RunTools {
  readonly definitions: readonly ToolDefinition[];
  /** `callId` (the model's tool-call id, unique in the run) names the call for exactly-once writes. */
  call(
    name: string,
    argumentsJson: string,
    signal: AbortSignal,
    callId?: string,
    answers?: ToolAnswers,
  ): Promise<ToolOutcome>;
}

/**
 * Gateway calls in flight at once on the agent's one HTTP/2 connection to it; more wait their turn
 * within their deadline (`call-slots.ts`). Far more than two cores serve at once.
 */
const GATEWAY_CALLS_IN_FLIGHT = 128;

/** The MCP server's words for a call the user cancelled (docs/mcp-server.md, "Confirmation before destruction"). */
const CANCELLED_BY_USER = /^cancelled_by_user:/;
export const CANCELLED_MESSAGE = "cancelled by the user";
/** The error code of a call the user declined: final, never asked again (tool-result-for-model.ts). */
export const CANCELLED_CODE = "cancelled";

export interface ToolGateway {
  /**
   * The caller's tools for `agentId`: the list the gateway gave this caller, while the gateway
   * says it may be reused (`tool-lists.ts`), else asked for; throws ConnectError (e.g.
   * unauthenticated). `turnId` names the turn: its tool calls' idempotency keys are
   * "<turn id>:<tool call id>".
   */
  forRun(ctx: HandlerContext, agentId: string, turnId?: string): Promise<RunTools>;
}

/**
 * The MCP gateway as the agent loop sees it. The caller's credential, trace and request id travel
 * by the propagation interceptor from the handler's context values (`forwardFrom`); the agent
 * service's own credential, naming the agent this run acts as, by the service-credential
 * interceptor: setting `kActingAgent` is all this module does about identity.
 */
export function createToolGateway(
  gatewayUrl: string,
  callTimeoutMs: number,
  credentials: ServiceCredentials,
): ToolGateway {
  const gateway = createServiceClient(McpGatewayService, gatewayUrl, {
    defaultTimeoutMs: callTimeoutMs,
    interceptors: [callSlots(GATEWAY_CALLS_IN_FLIGHT)],
    credentials: { source: credentials, audience: SERVICE_IDS.gateway },
  });
  const lists = createToolLists();
  return {
    async forRun(ctx, agentId, turnId) {
      ctx.values.set(kActingAgent, agentId);
      const principal = requirePrincipal(ctx);
      let definitions = lists.get(principal, agentId);
      if (!definitions) {
        const listed = await gateway.listTools({}, { ...forwardFrom(ctx), ...turnDeadline(ctx) });
        definitions = listed.tools.map(definitionOf);
        lists.keep(principal, agentId, definitions, listed.ttlMs);
      }
      return {
        definitions,
        async call(name, argumentsJson, signal, callId, answers) {
          const idempotencyKey = turnId && callId ? keyFor(turnId, callId) : "";
          try {
            const res = await withKeyedRetry(
              () =>
                gateway.callTool(
                  {
                    name,
                    argumentsJson,
                    idempotencyKey,
                    inputResponsesJson: answers?.inputResponsesJson ?? "",
                    requestState: answers?.requestState ?? "",
                  },
                  { contextValues: ctx.values, signal, ...turnDeadline(ctx) },
                ),
              { keyed: idempotencyKey !== "", signal, recoveryMs: callTimeoutMs },
            );
            if (res.inputRequired) {
              return {
                status: "input_required",
                inputRequestsJson: res.inputRequired.inputRequestsJson,
                requestState: res.inputRequired.requestState,
              };
            }
            if (res.isError && CANCELLED_BY_USER.test(res.text)) {
              return {
                status: "failed",
                text: res.text,
                errorCode: CANCELLED_CODE,
                errorMessage: CANCELLED_MESSAGE,
              };
            }
            if (res.isError) {
              return {
                status: "failed",
                text: res.text,
                errorCode: "unknown",
                errorMessage: res.text.slice(0, 1000),
              };
            }
            return { status: "succeeded", text: res.text, structuredJson: res.structuredContentJson };
          } catch (err) {
            const ce = ConnectError.from(err);
            // The list offered a tool the server now refuses for who is calling (an allow-list or
            // scope changed meanwhile): the next turn asks the gateway, which has let its list go too.
            if (ce.code === Code.PermissionDenied) lists.drop(principal, agentId);
            return {
              status: "failed",
              text: "",
              errorCode: codeName(ce.code),
              errorMessage: toolErrorText(ce),
            };
          }
        },
      };
    },
  };
}

/**
 * A gateway call waits within what is left of the turn (the Run call's deadline, set by chat), not
 * a fixed bound of its own: on a busy machine a slow answer is waited for, and only an outage
 * fails the call (docs/agent.md, "Deadlines"). A Run without a deadline leaves the client's default.
 */
function turnDeadline(ctx: HandlerContext): { timeoutMs?: number } {
  const left = ctx.timeoutMs();
  return left === undefined ? {} : { timeoutMs: Math.max(1, left) };
}

/** "<turn id>:<tool call id>", or its SHA-256 when that is longer than a key may be. */
export function keyFor(turnId: string, callId: string): string {
  const key = `${turnId}:${callId}`;
  return key.length <= MAX_IDEMPOTENCY_KEY_LENGTH ? key : createHash("sha256").update(key).digest("hex");
}

/**
 * Tool definitions by what they say: every caller of an agent is offered the same few tools, so the
 * lists held for thousands of callers (`tool-lists.ts`) share one frozen definition of each.
 * Bounded as the schemas are.
 */
const sharedDefinitions = new Map<string, ToolDefinition>();

function definitionOf(t: Tool): ToolDefinition {
  const description = t.description || t.title;
  const key = JSON.stringify([t.name, description, t.inputSchemaJson]);
  let definition = sharedDefinitions.get(key);
  if (!definition) {
    definition = Object.freeze({ name: t.name, description, parameters: parseSchema(t.inputSchemaJson) });
    if (sharedDefinitions.size >= SCHEMAS_MAX) sharedDefinitions.clear();
    sharedDefinitions.set(key, definition);
  }
  return definition;
}

/**
 * Parsed input schemas by their JSON: every turn lists the same few tools, and parsing their
 * schemas again was a measurable part of a turn. Frozen, since every turn shares them. Bounded:
 * only a server that changes its schemas constantly could fill it, and then it starts over.
 */
const SCHEMAS_MAX = 512;
const parsedSchemas = new Map<string, Readonly<Record<string, unknown>>>();

function parseSchema(json: string): Readonly<Record<string, unknown>> {
  let schema = parsedSchemas.get(json);
  if (!schema) {
    schema = deepFreeze(schemaOf(json));
    if (parsedSchemas.size >= SCHEMAS_MAX) parsedSchemas.clear();
    parsedSchemas.set(json, schema);
  }
  return schema;
}

function schemaOf(json: string): Record<string, unknown> {
  try {
    const value = JSON.parse(json) as unknown;
    if (value && typeof value === "object" && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through: a tool without a usable schema takes an empty object
  }
  return { type: "object", properties: {} };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
