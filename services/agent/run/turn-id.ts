import { createHash } from "node:crypto";
import type { RunRequest } from "#gen/supportext/agent/v1/agent_pb.js";

/**
 * The name of a turn, from which its tool calls' idempotency keys are made (docs/mcp-gateway.md,
 * "Faults"): the Run call's request id together with the agent, the thread and the input. A caller
 * repeating the turn after a lost connection sends the same request id and input (its history may
 * have grown by the lost attempt), so the repeat's tool calls carry the same keys and change
 * nothing twice; a client that sends one request id for every call still gets a new name for each
 * new input.
 */
export function turnIdOf(requestId: string | undefined, req: RunRequest): string | undefined {
  if (!requestId) return undefined;
  return createHash("sha256")
    .update(JSON.stringify([requestId, req.agentId, req.threadId, req.input]))
    .digest("base64url")
    .slice(0, 32);
}
