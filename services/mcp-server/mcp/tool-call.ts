import { type CallToolResult, ProtocolError, ProtocolErrorCode } from "@modelcontextprotocol/server";
import type { Principal } from "#kit/auth/index.js";
import { currentCallScope } from "#kit/propagation/index.js";
import { auditEntry, type CallFacts, type CallResult } from "../audit/audit-recorder.js";
import { principalOf } from "../auth/auth-info.js";
import type { AuditEntry } from "../data/audit-log.js";
import type { ToolErrorCode } from "../tools/tool.js";
import { nameForLog, roundMs, toolError } from "./tool-results.js";
import type { HandlerExtra, ToolRunnerDeps } from "./tool-runner-types.js";

/** One tools/call on its way through the runner: who, what, since when, and its one audit row. */
export interface ToolCall {
  readonly name: string;
  /** The name as log lines show it (bounded). */
  readonly shown: string;
  readonly rawArguments: unknown;
  readonly extra: HandlerExtra;
  readonly principal: Principal;
  readonly facts: CallFacts;
  /** Set once the user said yes: every row of the call after that names who confirmed, and when. */
  confirmed: Pick<CallResult, "confirmedBy" | "confirmedAt">;
  elapsed(): number;
  /** Writes the call's audit row and its log line. */
  finish(result: Omit<CallResult, "durationMs">): Promise<void>;
  /** `finish` with this outcome, then the tool error the model reads ("<code>: <message>"). */
  fail(outcome: "error" | "refused", code: ToolErrorCode, message: string): Promise<CallToolResult>;
  /** Internal details (SQL, stacks) stay in the log; the caller gets a handle to find them. */
  failedUnexpectedly(err: unknown): Promise<CallToolResult>;
  /** The "ok" row a change commits with. */
  okEntry(): AuditEntry;
}

export function beginToolCall(
  deps: Pick<ToolRunnerDeps, "audit" | "logger">,
  name: string,
  rawArguments: unknown,
  extra: HandlerExtra,
): ToolCall {
  const started = performance.now();
  const principal = principalOf(extra.authInfo);
  const scope = currentCallScope();
  const facts: CallFacts = {
    principal,
    sessionId: extra.sessionId,
    traceId: scope?.trace?.traceId,
    requestId: scope?.requestId,
  };
  const call: ToolCall = {
    name,
    shown: nameForLog(name),
    rawArguments,
    extra,
    principal,
    facts,
    confirmed: {},
    elapsed: () => performance.now() - started,
    finish: (result) => finish(deps, call, result),
    async fail(outcome, code, message) {
      await call.finish({ outcome, errorCode: code, error: message });
      return toolError(code, message);
    },
    async failedUnexpectedly(err) {
      deps.logger.error({ err, tool: name }, `tool ${name} failed`);
      const error = err instanceof Error ? err.message : String(err);
      await call.finish({ outcome: "error", errorCode: "internal_error", error });
      const message = `the tool failed unexpectedly; see the server log for request id ${facts.requestId}`;
      return toolError("internal_error", message);
    },
    okEntry: () =>
      auditEntry(facts, name, rawArguments, { ...call.confirmed, outcome: "ok", durationMs: call.elapsed() }),
  };
  return call;
}

async function finish(
  deps: Pick<ToolRunnerDeps, "audit" | "logger">,
  call: ToolCall,
  result: Omit<CallResult, "durationMs">,
): Promise<void> {
  const durationMs = call.elapsed();
  try {
    await deps.audit.record(
      auditEntry(call.facts, call.name, call.rawArguments, { ...call.confirmed, ...result, durationMs }),
    );
  } catch {
    // The recorder logged the cause. No audit row, no answer: and the database's message
    // (which the SDK would copy into the JSON-RPC error) stays in the log.
    throw new ProtocolError(
      ProtocolErrorCode.InternalError,
      `internal_error: the call could not be audited, so it was not answered; see the server log for request id ${call.facts.requestId}`,
    );
  }
  const level = result.outcome === "ok" ? "info" : "warn";
  deps.logger[level](
    {
      tool: call.shown,
      outcome: result.outcome,
      error_code: result.errorCode,
      duration_ms: roundMs(durationMs),
    },
    `tool ${call.shown} ${result.outcome}${result.errorCode ? `: ${result.errorCode}` : ""}`,
  );
}
