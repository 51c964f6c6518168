import type { CallToolResult } from "@modelcontextprotocol/server";
import { hasScopes } from "#kit/auth/index.js";
import { dirtyStringIn } from "#kit/input/index.js";
import { AGENT_NOT_ALLOWED, agentAllows, agentRefusal } from "../auth/agent-tools.js";
import type { ToolSpec } from "../tools/tool.js";
import type { createKeyedWrites, KeyedWrite } from "./keyed-write.js";
import type { ToolCall } from "./tool-call.js";
import { describeIssues } from "./tool-results.js";

/** A call let through with its validated arguments, or the answer that refused it. */
export type Admitted =
  | { readonly ok: true; readonly args: unknown }
  | { readonly ok: false; readonly result: CallToolResult };

/**
 * The agent's allow-list, the scope, then the arguments: validated by the tool's schema, and held
 * to the kit's text rule. Each refusal is audited once.
 */
export async function admitCall(call: ToolCall, tool: ToolSpec, required: string): Promise<Admitted> {
  const { principal, name, rawArguments } = call;
  // The agent first: when the agent may not call the tool, no scope the user could add would
  // help, so a step-up ("insufficient_scope") would send them the wrong way.
  if (!agentAllows(principal, name)) {
    return refused(call.fail("refused", AGENT_NOT_ALLOWED, agentRefusal(principal, name)));
  }
  if (!hasScopes(principal, [required])) {
    const message = `${name} requires scope "${required}", which this token does not have`;
    return refused(call.fail("refused", "insufficient_scope", message));
  }
  const parsed = tool.input.safeParse(rawArguments ?? {});
  if (!parsed.success) {
    return refused(call.fail("error", "invalid_arguments", describeIssues(parsed.error.issues)));
  }
  // The kit's rule for every request's text (docs/architecture.md, "Input text"): the gateway's
  // arguments_json is clean as sent, but its "\u0000" escapes are NULs once parsed, and
  // PostgreSQL text cannot store NUL — a clear tool error here instead of a failed INSERT. The
  // arguments as sent, not as validated: a schema that trims would hide a control, not refuse it.
  const dirty = dirtyStringIn(rawArguments, {}, "arguments");
  if (dirty) return refused(call.fail("error", "invalid_arguments", dirty));
  return { ok: true, args: parsed.data };
}

async function refused(result: Promise<CallToolResult>): Promise<Admitted> {
  return { ok: false, result: await result };
}

/**
 * A keyed write (docs/mcp-server.md, "Idempotency keys"): a repeat of the key gets the first
 * call's answer and changes nothing. Read-only tools and calls without `_meta` are not keyed.
 */
export async function openKeyedWrite(
  keyed: ReturnType<typeof createKeyedWrites>,
  call: ToolCall,
  tool: ToolSpec,
): Promise<{ readonly write: KeyedWrite | undefined } | { readonly result: CallToolResult }> {
  if (tool.annotations.readOnlyHint === true || call.extra.meta === undefined) return { write: undefined };
  const opened = await keyed.open(call.principal, call.name, call.rawArguments, call.extra.meta);
  if (opened.kind === "invalid" || opened.kind === "mismatch") {
    return { result: await call.fail("error", "invalid_arguments", opened.message) };
  }
  if (opened.kind === "replay") {
    await call.finish({ outcome: "ok", errorCode: "replayed" });
    return { result: opened.result };
  }
  return { write: opened.kind === "fresh" ? opened.write : undefined };
}
