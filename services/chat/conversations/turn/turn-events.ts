import { create } from "@bufbuild/protobuf";
import type { RunEvent } from "#gen/supportext/agent/v1/agent_pb.js";
import {
  type Confirmation,
  type Message,
  type TurnResumed,
  TurnResumedSchema,
} from "#gen/supportext/chat/v1/chat_pb.js";
import type { Logger } from "#kit/log/index.js";
import type { AgentClient } from "../agent-client.js";
import type { ThreadStore } from "../thread-store.js";
import type { UserGate } from "../turn-limits.js";
import type { TurnStore } from "../turn-store.js";
import type { UserLimits } from "../user-limits.js";
import type { RepeatWaiters } from "./repeat-waiters.js";

export type TurnEvent =
  | { readonly case: "userMessage"; readonly value: Message }
  | { readonly case: "runEvent"; readonly value: RunEvent }
  | { readonly case: "turnResumed"; readonly value: TurnResumed }
  | { readonly case: "confirmationRequired"; readonly value: Confirmation }
  | { readonly case: "assistantMessage"; readonly value: Message };

/** The events of a turn that goes on after its confirmation is answered (no user message). */
export type ConfirmEvent = Exclude<TurnEvent, { readonly case: "userMessage" }>;

export interface TurnDeps {
  readonly threads: ThreadStore;
  readonly turns: TurnStore;
  readonly agents: AgentClient;
  readonly logger: Logger;
  /** What one user may start (docs/chat.md, "Limits per user"); none when absent. */
  readonly limits?: UserLimits;
  /** This process's waiting repeats per user (bounded with the limits); unbounded when absent. */
  readonly repeatWaiters?: RepeatWaiters;
}

export const RESUMING_INTERRUPTED =
  "resuming a turn the chat service was running when it stopped (same idempotency keys: nothing is done twice)";
export const RESENT_AFTER_AGENT_LOST =
  "the agent was lost mid-turn: running the turn again (same idempotency keys: nothing is done twice)";
export const resumed = (reason: string) => create(TurnResumedSchema, { reason });

/** The caller's runs under the deps' limits per user (none without limits). */
export const gateOf = (deps: TurnDeps, userId: string): UserGate | undefined =>
  deps.limits ? { userId, limits: deps.limits } : undefined;
