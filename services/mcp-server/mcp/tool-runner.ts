import {
  type AuthInfo,
  type CallToolResult,
  type InputRequiredResult,
  ProtocolError,
  ProtocolErrorCode,
} from "@modelcontextprotocol/server";
import { hasScopes } from "../../kit/auth/index.js";
import type { Database } from "../../kit/db/index.js";
import { dirtyStringIn } from "../../kit/input/index.js";
import type { Logger } from "../../kit/log/index.js";
import type { ModelProvider } from "../../kit/model/index.js";
import { currentCallScope, IDEMPOTENCY_META_KEY } from "../../kit/propagation/index.js";
import { type AuditRecorder, auditEntry, type CallFacts, type CallResult } from "../audit/audit-recorder.js";
import { AGENT_NOT_ALLOWED, agentAllows, agentRefusal } from "../auth/agent-tools.js";
import { principalOf } from "../auth/auth-info.js";
import {
  type SystemFacts,
  type ToolContext,
  ToolError,
  type ToolErrorCode,
  type ToolQuestion,
} from "../tools/tool.js";
import {
  askToConfirm,
  type ConfirmationInput,
  confirmationState,
  defaultQuestion,
  needsConfirmation,
  readAnswer,
} from "./confirmation.js";
import { createKeyedWrites, type KeyedWrite } from "./keyed-write.js";
import type { ToolCatalog } from "./tool-catalog.js";

export interface ToolRunnerDeps {
  readonly catalog: ToolCatalog;
  readonly db: Database;
  readonly audit: AuditRecorder;
  readonly model: ModelProvider;
  readonly system: SystemFacts;
  readonly logger: Logger;
}

/** What the runner needs of the request a handler serves (from the SDK's handler context). */
export interface HandlerExtra {
  readonly authInfo?: AuthInfo | undefined;
  readonly sessionId?: string | undefined;
  /** The request's `_meta` (the idempotency key travels there, docs/mcp-server.md). */
  readonly meta?: Readonly<Record<string, unknown>> | undefined;
  /** A destructive call's question and answer (docs/mcp-server.md, "Confirmation before destruction"); absent: it cannot ask. */
  readonly confirmation?: ConfirmationInput | undefined;
}

export type ToolRunner = (
  name: string,
  rawArguments: unknown,
  extra: HandlerExtra,
) => Promise<CallToolResult | InputRequiredResult>;

const MAX_ISSUES_TEXT = 1_000;

/**
 * Formats a zod failure as "field: problem; field: problem", capped: zod quotes unknown keys, and
 * a request may send a megabyte of them.
 */
export function describeIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  const text = issues
    .map((i) => (i.path.length > 0 ? `${i.path.map(String).join(".")}: ${i.message}` : i.message))
    .join("; ");
  return text.length > MAX_ISSUES_TEXT ? `${text.slice(0, MAX_ISSUES_TEXT)}…` : text;
}

/** A tool name as it may appear in log lines: the caller chose it, so it is bounded. */
export function nameForLog(name: string): string {
  return name.length > 100 ? `${name.slice(0, 100)}…` : name;
}

export function toolError(code: ToolErrorCode, message: string): CallToolResult {
  return { isError: true, content: [{ type: "text", text: `${code}: ${message}` }] };
}

/**
 * Every tools/call goes through here: the agent's allow-list, scope check, argument validation, the
 * handler, and exactly one audit row whatever happens. Expected failures become tool errors the model can read and act
 * on ("<code>: <message>"); only an unknown tool is a protocol error, as the MCP spec asks.
 */
export function createToolRunner(deps: ToolRunnerDeps): ToolRunner {
  const { catalog, db, audit, logger } = deps;
  const keyed = createKeyedWrites(db, logger);

  return async (name, rawArguments, extra) => {
    const started = performance.now();
    const shown = nameForLog(name);
    const principal = principalOf(extra.authInfo);
    const scope = currentCallScope();
    const facts: CallFacts = {
      principal,
      sessionId: extra.sessionId,
      traceId: scope?.trace?.traceId,
      requestId: scope?.requestId,
    };
    const elapsed = () => performance.now() - started;
    // Set once the user said yes: every row of the call after that names who confirmed, and when.
    let confirmed: Pick<CallResult, "confirmedBy" | "confirmedAt"> = {};
    const finish = async (result: Omit<CallResult, "durationMs">) => {
      const durationMs = elapsed();
      try {
        await audit.record(auditEntry(facts, name, rawArguments, { ...confirmed, ...result, durationMs }));
      } catch {
        // The recorder logged the cause. No audit row, no answer: and the database's message
        // (which the SDK would copy into the JSON-RPC error) stays in the log.
        throw new ProtocolError(
          ProtocolErrorCode.InternalError,
          `internal_error: the call could not be audited, so it was not answered; see the server log for request id ${facts.requestId}`,
        );
      }
      const level = result.outcome === "ok" ? "info" : "warn";
      logger[level](
        {
          tool: shown,
          outcome: result.outcome,
          error_code: result.errorCode,
          duration_ms: round(durationMs),
        },
        `tool ${shown} ${result.outcome}${result.errorCode ? `: ${result.errorCode}` : ""}`,
      );
    };

    // Internal details (SQL, stacks) stay in the log; the caller gets a handle to find them.
    const failedUnexpectedly = async (err: unknown): Promise<CallToolResult> => {
      logger.error({ err, tool: name }, `tool ${name} failed`);
      await finish({
        outcome: "error",
        errorCode: "internal_error",
        error: err instanceof Error ? err.message : String(err),
      });
      return toolError(
        "internal_error",
        `the tool failed unexpectedly; see the server log for request id ${facts.requestId}`,
      );
    };

    const entry = catalog.get(name);
    if (!entry) {
      await finish({ outcome: "refused", errorCode: "unknown_tool", error: `no tool named "${shown}"` });
      throw new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown tool: ${shown}`);
    }
    const { spec: tool, scope: required } = entry;
    // The agent first: when the agent may not call the tool, no scope the user could add would
    // help, so a step-up ("insufficient_scope") would send them the wrong way.
    if (!agentAllows(principal, name)) {
      const message = agentRefusal(principal, name);
      await finish({ outcome: "refused", errorCode: AGENT_NOT_ALLOWED, error: message });
      return toolError(AGENT_NOT_ALLOWED, message);
    }
    if (!hasScopes(principal, [required])) {
      const message = `${name} requires scope "${required}", which this token does not have`;
      await finish({ outcome: "refused", errorCode: "insufficient_scope", error: message });
      return toolError("insufficient_scope", message);
    }
    const parsed = tool.input.safeParse(rawArguments ?? {});
    if (!parsed.success) {
      const message = describeIssues(parsed.error.issues);
      await finish({ outcome: "error", errorCode: "invalid_arguments", error: message });
      return toolError("invalid_arguments", message);
    }
    // The kit's rule for every request's text (docs/architecture.md, "Input text"): the gateway's
    // arguments_json is clean as sent, but its "\u0000" escapes are NULs once parsed, and
    // PostgreSQL text cannot store NUL — a clear tool error here instead of a failed INSERT. The
    // arguments as sent, not as validated: a schema that trims would hide a control, not refuse it.
    const dirty = dirtyStringIn(rawArguments, {}, "arguments");
    if (dirty) {
      await finish({ outcome: "error", errorCode: "invalid_arguments", error: dirty });
      return toolError("invalid_arguments", dirty);
    }

    // A keyed write: a repeat of the key gets the first call's answer and changes nothing.
    let write: KeyedWrite | undefined;
    if (tool.annotations.readOnlyHint !== true && extra.meta !== undefined) {
      const opened = await keyed.open(principal, name, rawArguments, extra.meta);
      if (opened.kind === "invalid" || opened.kind === "mismatch") {
        await finish({ outcome: "error", errorCode: "invalid_arguments", error: opened.message });
        return toolError("invalid_arguments", opened.message);
      }
      if (opened.kind === "replay") {
        await finish({ outcome: "ok", errorCode: "replayed" });
        return opened.result;
      }
      write = opened.kind === "fresh" ? opened.write : undefined;
    }

    // Confirmation before destruction (docs/mcp-server.md, "Confirmation before destruction"): after every refusal
    // above and after a keyed repeat (already confirmed, already made: its first answer), before
    // anything runs. The question asks; the answer decides, and only a yes runs the tool.
    if (needsConfirmation(tool)) {
      const input = extra.confirmation;
      let question: ToolQuestion;
      try {
        question = tool.confirm
          ? await tool.confirm(parsed.data, { db, principal })
          : defaultQuestion(tool, rawArguments);
      } catch (err) {
        if (err instanceof ToolError) {
          await finish({ outcome: "error", errorCode: err.code, error: err.message });
          return toolError(err.code, err.message);
        }
        return failedUnexpectedly(err);
      }
      if (!input?.canElicit) {
        const message = `${name} changes nothing without the user's explicit yes, and this client cannot ask (it declared no form elicitation capability)`;
        await finish({ outcome: "refused", errorCode: "confirmation_unavailable", error: message });
        return toolError("confirmation_unavailable", message);
      }
      const key = extra.meta?.[IDEMPOTENCY_META_KEY];
      const state = confirmationState(name, rawArguments, typeof key === "string" ? key : null);
      const answer = readAnswer(input, state, principal);
      if (answer.kind === "cancelled") {
        const message = `cancelled by the user: ${question.action} was not done, nothing was changed`;
        await finish({ outcome: "refused", errorCode: "cancelled_by_user", error: message });
        return toolError("cancelled_by_user", message);
      }
      if (answer.kind === "unanswered") {
        // A question decides nothing and changes nothing: no audit row until it is answered.
        logger.info({ tool: shown }, `tool ${shown} asks the user to confirm`);
        return askToConfirm(question, state, input);
      }
      confirmed = { confirmedBy: answer.by, confirmedAt: answer.at };
    }

    let audited = false;
    const ctx: ToolContext = {
      principal,
      db,
      model: deps.model,
      system: deps.system,
      logger,
      async mutate(fn) {
        if (write) {
          // The key, the change and its audit row commit together, after the result is built.
          return write.mutate(fn, (tx) =>
            audit.within(
              tx,
              auditEntry(facts, name, rawArguments, { ...confirmed, outcome: "ok", durationMs: elapsed() }),
            ),
          );
        }
        const out = await db.transaction(async (tx) => {
          const value = await fn(tx);
          await audit.within(
            tx,
            auditEntry(facts, name, rawArguments, { ...confirmed, outcome: "ok", durationMs: elapsed() }),
          );
          return value;
        });
        audited = true;
        return out;
      },
    };
    let out: Awaited<ReturnType<typeof tool.run>>;
    try {
      out = await tool.run(parsed.data, ctx);
    } catch (err) {
      // A keyed write's transaction is still open: roll it back (change, key and "ok" row).
      const settled = write ? await write.abandon(err) : undefined;
      if (settled?.kind === "replay") {
        await finish({ outcome: "ok", errorCode: "replayed" });
        return settled.result;
      }
      if (settled?.kind === "mismatch") {
        await finish({ outcome: "error", errorCode: "invalid_arguments", error: settled.message });
        return toolError("invalid_arguments", settled.message);
      }
      if (audited) {
        // The change and its "ok" row are committed; what failed came after. Say so, don't re-audit.
        logger.error({ err, tool: name }, `tool ${name} failed after its change was committed`);
        return toolError(
          "internal_error",
          `the change was saved but the result could not be built (request id ${facts.requestId})`,
        );
      }
      if (err instanceof ToolError) {
        await finish({ outcome: "error", errorCode: err.code, error: err.message });
        return toolError(err.code, err.message);
      }
      return failedUnexpectedly(err);
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
        audited = true;
      } catch (err) {
        // Nothing committed: not the change, not its "ok" row, not the key.
        return failedUnexpectedly(err);
      }
    }
    if (audited) {
      logger.info({ tool: name, outcome: "ok", duration_ms: round(elapsed()) }, `tool ${name} ok`);
    } else {
      await finish({ outcome: "ok" });
    }
    return result;
  };
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}
