import { ProtocolError, ProtocolErrorCode } from "@modelcontextprotocol/server";
import { needsConfirmation } from "./confirmation.js";
import { createKeyedWrites } from "./keyed-write.js";
import { admitCall, openKeyedWrite } from "./tool-admission.js";
import { beginToolCall } from "./tool-call.js";
import { confirmCall } from "./tool-confirmation.js";
import { executeTool } from "./tool-execution.js";
import type { ToolRunner, ToolRunnerDeps } from "./tool-runner-types.js";

export { describeIssues, nameForLog, toolError } from "./tool-results.js";
export type { HandlerExtra, ToolRunner, ToolRunnerDeps } from "./tool-runner-types.js";

/**
 * Every tools/call goes through here: the agent's allow-list, scope check, argument validation, the
 * handler, and exactly one audit row whatever happens. Expected failures become tool errors the model can read and act
 * on ("<code>: <message>"); only an unknown tool is a protocol error, as the MCP spec asks.
 */
export function createToolRunner(deps: ToolRunnerDeps): ToolRunner {
  const keyed = createKeyedWrites(deps.db, deps.logger);
  return async (name, rawArguments, extra) => {
    const call = beginToolCall(deps, name, rawArguments, extra);
    const entry = deps.catalog.get(name);
    if (!entry) {
      await call.finish({
        outcome: "refused",
        errorCode: "unknown_tool",
        error: `no tool named "${call.shown}"`,
      });
      throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown tool: ${call.shown}`);
    }
    const admitted = await admitCall(call, entry.spec, entry.scope);
    if (!admitted.ok) return admitted.result;
    const opened = await openKeyedWrite(keyed, call, entry.spec);
    if ("result" in opened) return opened.result;
    if (needsConfirmation(entry.spec)) {
      const answer = await confirmCall(deps, call, entry.spec, admitted.args);
      if (answer !== undefined) return answer;
    }
    return executeTool(deps, call, entry.spec, admitted.args, opened.write);
  };
}
