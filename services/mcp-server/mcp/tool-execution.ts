import type { CallToolResult } from "@modelcontextprotocol/server";
import type { Queryable } from "#kit/db/index.js";
import { type ToolContext, ToolError, type ToolOutput, type ToolSpec } from "../tools/tool.js";
import type { KeyedWrite } from "./keyed-write.js";
import type { ToolCall } from "./tool-call.js";
import { roundMs, toolError } from "./tool-results.js";
import type { ToolRunnerDeps } from "./tool-runner-types.js";

/** Whether the call's "ok" row has committed with its change. */
interface Audited {
  value: boolean;
}

/**
 * Runs the tool: a change commits with its "ok" audit row (and, keyed, with its key and answer);
 * a call that changes nothing is audited once it answered. Every failure is answered and audited
 * exactly once.
 */
export async function executeTool(
  deps: ToolRunnerDeps,
  call: ToolCall,
  tool: ToolSpec,
  args: unknown,
  write: KeyedWrite | undefined,
): Promise<CallToolResult> {
  const audited: Audited = { value: false };
  let out: ToolOutput<unknown>;
  try {
    out = await tool.run(args, toolContext(deps, call, write, audited));
  } catch (err) {
    return failedRun(deps, call, write, audited, err);
  }
  const result: CallToolResult = {
    content: [
      { type: "text", text: out.summary },
      { type: "text", text: JSON.stringify(out.data) },
    ],
    structuredContent: out.data as Record<string, unknown>,
  };
  if (write?.pending) {
    try {
      await write.commit(result);
      audited.value = true;
    } catch (err) {
      // Nothing committed: not the change, not its "ok" row, not the key.
      return call.failedUnexpectedly(err);
    }
  }
  if (audited.value) {
    deps.logger.info(
      { tool: call.name, outcome: "ok", duration_ms: roundMs(call.elapsed()) },
      `tool ${call.name} ok`,
    );
  } else {
    await call.finish({ outcome: "ok" });
  }
  return result;
}

function toolContext(
  deps: ToolRunnerDeps,
  call: ToolCall,
  write: KeyedWrite | undefined,
  audited: Audited,
): ToolContext {
  const { db, audit } = deps;
  return {
    principal: call.principal,
    db,
    model: deps.model,
    system: deps.system,
    logger: deps.logger,
    async mutate<T>(fn: (tx: Queryable) => Promise<T>): Promise<T> {
      // A keyed write: the key, the change and its audit row commit together, after the result is built.
      if (write) return write.mutate(fn, (tx) => audit.within(tx, call.okEntry()));
      const out = await db.transaction(async (tx) => {
        const value = await fn(tx);
        audit.within(tx, call.okEntry());
        return value;
      });
      audited.value = true;
      return out;
    },
  };
}

async function failedRun(
  deps: ToolRunnerDeps,
  call: ToolCall,
  write: KeyedWrite | undefined,
  audited: Audited,
  err: unknown,
): Promise<CallToolResult> {
  // A keyed write's transaction is still open: roll it back (change, key and "ok" row).
  const settled = write ? await write.abandon(err) : undefined;
  if (settled?.kind === "replay") {
    await call.finish({ outcome: "ok", errorCode: "replayed" });
    return settled.result;
  }
  if (settled?.kind === "mismatch") return call.fail("error", "invalid_arguments", settled.message);
  if (audited.value) {
    // The change and its "ok" row are committed; what failed came after. Say so, don't re-audit.
    deps.logger.error({ err, tool: call.name }, `tool ${call.name} failed after its change was committed`);
    return toolError(
      "internal_error",
      `the change was saved but the result could not be built (request id ${call.facts.requestId})`,
    );
  }
  if (err instanceof ToolError) return call.fail("error", err.code, err.message);
  return call.failedUnexpectedly(err);
}
