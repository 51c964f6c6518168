import {
  type ClientCapabilities,
  createRequestStateCodec,
  type InputRequiredResult,
  inputRequired,
  inputResponse,
  type ServerContext,
} from "@modelcontextprotocol/server";
import { actorChain, type Principal } from "#kit/auth/index.js";
import type { Database } from "#kit/db/index.js";
import { principalOf } from "../auth/auth-info.js";
import { argumentsHash } from "../data/idempotency-keys.js";
import { serverSecret } from "../data/server-secrets.js";
import type { ToolQuestion, ToolSpec } from "../tools/tool.js";

/**
 * Confirmation before destruction (docs/mcp-server.md, "Confirmation before destruction"). A tool annotated
 * `destructiveHint: true` runs only after the user's explicit yes, asked through MCP's own
 * mechanism: the handler answers an `input_required` result holding one form elicitation (key
 * `confirm`, a single boolean) and a signed `requestState`; the client asks its user and repeats
 * the call with the answer in `inputResponses` and the state echoed. On 2026-07-28 that is the
 * revision's multi-round-trip request; on the 2025 family the SDK's legacy shim sends the same
 * elicitation as an `elicitation/create` request on the call's own stream and re-enters the
 * handler with the answer. One handler serves both.
 */

/** The key of the one input request a destructive call makes. */
export const CONFIRM_KEY = "confirm";

/** How long a question may wait for its answer; after that the call asks again. */
export const CONFIRMATION_TTL_SECONDS = 60 * 60;

/** What the signed `requestState` binds the answer to: this tool, these arguments, this key. */
export interface ConfirmationState {
  readonly v: 1;
  readonly tool: string;
  /** SHA-256 of the arguments' canonical JSON, as the idempotency store hashes them. */
  readonly args: string;
  /** The call's idempotency key, when it has one. */
  readonly key: string | null;
}

/** Where the runner reads a destructive call's answer (from the SDK's handler context). */
export interface ConfirmationInput {
  /** The verified, decoded `requestState` of a repeated call (the SDK ran `verify` before the handler). */
  readonly requestState?: unknown;
  /** `inputResponses` of a repeated call: the client's answers, by input request key. */
  readonly inputResponses?: Record<string, unknown> | undefined;
  /** Whether the client declared form elicitation (the `input_required` of 2026-07-28 needs it too). */
  readonly canElicit: boolean;
  /** Seals a state for this request's principal. */
  readonly mint: (state: ConfirmationState) => Promise<string>;
}

export type ConfirmationAnswer =
  | { readonly kind: "confirmed"; readonly by: string; readonly at: Date }
  | { readonly kind: "cancelled" }
  | { readonly kind: "unanswered" };

/** Whether a tool must be confirmed before it runs: its own annotation says it destroys. */
export function needsConfirmation(tool: Pick<ToolSpec, "annotations">): boolean {
  return tool.annotations.destructiveHint === true;
}

export function confirmationState(
  tool: string,
  rawArguments: unknown,
  key: string | null,
): ConfirmationState {
  return { v: 1, tool, args: argumentsHash(rawArguments), key };
}

/**
 * The user's answer to this very call, or `unanswered`. An answer counts only with a verified state
 * naming the same tool, arguments and key: a yes to another question confirms nothing.
 */
export function readAnswer(
  input: ConfirmationInput,
  expected: ConfirmationState,
  principal: Principal,
): ConfirmationAnswer {
  if (!sameState(input.requestState, expected)) return { kind: "unanswered" };
  const view = inputResponse(input.inputResponses, CONFIRM_KEY);
  if (view.kind !== "elicit") return { kind: "unanswered" };
  if (view.action === "accept" && view.content?.[CONFIRM_KEY] === true) {
    return { kind: "confirmed", by: principal.userId, at: new Date() };
  }
  // An explicit no, a declined form or a dismissed one: nothing runs.
  return { kind: "cancelled" };
}

/** The `input_required` result that asks the question (MCP 2026-07-28; the shim asks it on 2025). */
export async function askToConfirm(
  question: ToolQuestion,
  state: ConfirmationState,
  input: ConfirmationInput,
): Promise<InputRequiredResult> {
  return inputRequired({
    inputRequests: {
      [CONFIRM_KEY]: inputRequired.elicit({
        message: question.message,
        requestedSchema: {
          type: "object",
          properties: {
            [CONFIRM_KEY]: { type: "boolean", title: question.action, description: question.message },
          },
          required: [CONFIRM_KEY],
        },
      }),
    },
    requestState: await input.mint(state),
  });
}

/** The default question of a destructive tool that words none itself. */
export function defaultQuestion(tool: Pick<ToolSpec, "name" | "title">, args: unknown): ToolQuestion {
  return {
    message: `${tool.title} (${tool.name}) with ${JSON.stringify(args)}? This cannot be undone from here.`,
    action: tool.title,
  };
}

/** Form elicitation declared: `elicitation.form`, or a bare `elicitation: {}` (2025-06-18 and earlier). */
export function declaresFormElicitation(capabilities: ClientCapabilities | undefined): boolean {
  const elicitation = capabilities?.elicitation as Record<string, unknown> | undefined;
  if (elicitation === undefined || elicitation === null) return false;
  return elicitation.form !== undefined || Object.keys(elicitation).length === 0;
}

function sameState(value: unknown, expected: ConfirmationState): boolean {
  if (typeof value !== "object" || value === null) return false;
  const s = value as Partial<ConfirmationState>;
  return s.v === 1 && s.tool === expected.tool && s.args === expected.args && s.key === expected.key;
}

/**
 * The codec that signs `requestState` (the SDK's HMAC-SHA256 helper) with a key kept in this
 * server's database, shared by its replicas. A state is bound to the principal it was minted for —
 * the user and the whole delegation chain — so another user (or another agent) can never answer
 * it: the SDK refuses a state whose binding differs with `-32602 Invalid or expired requestState`.
 */
export async function createConfirmationCodec(db: Database) {
  const key = await serverSecret(db, "request_state_hmac");
  return createRequestStateCodec<ConfirmationState>({
    key,
    ttlSeconds: CONFIRMATION_TTL_SECONDS,
    bind: (ctx: ServerContext) => {
      const p = principalOf(ctx.http?.authInfo);
      return JSON.stringify([p.userId, actorChain(p).map((a) => [a.sub, a.agent ?? null])]);
    },
  });
}
