import { describeChain, type Principal } from "../auth/principal.js";
import type { ServiceCaller } from "../auth/service-identity.js";
import { activeSpanContext } from "../telemetry/tracing.js";
import type { TraceContext } from "./context-keys.js";

/** What of a call scope its log lines name (the scope's own type would make an import circle). */
interface LoggedCall {
  readonly principal?: Principal | undefined;
  readonly caller?: ServiceCaller | undefined;
  readonly trace?: TraceContext | undefined;
  readonly requestId?: string | undefined;
}

/**
 * The fields of every log line written during `scope`'s call (docs/architecture.md, "The kit",
 * `log/`): its trace and span, request id, user, and who acts for whom. None outside a call.
 */
export function callLogFields(scope: LoggedCall | undefined): Record<string, unknown> {
  if (!scope) return {};
  // The span the line is written in (a tool run, say) when it belongs to the call's trace.
  const active = activeSpanContext();
  const span = active && (!scope.trace || active.traceId === scope.trace.traceId) ? active : scope.trace;
  return {
    trace_id: span?.traceId,
    span_id: span?.spanId,
    request_id: scope.requestId,
    user_id: scope.principal?.userId,
    // The development principal (AUTH_DEV_ANONYMOUS): every line of its calls says so.
    ...(scope.principal?.anonymous ? { anonymous: true } : {}),
    // The delegation chain of an exchanged token, "mcp-gateway ← agent(ticket-reader)".
    ...(scope.principal?.actor ? { actor: describeChain(scope.principal) } : {}),
    // The verified calling service, and the agent it proved it runs.
    ...(scope.caller ? { caller: scope.caller.clientId } : {}),
    ...(scope.caller?.agent ? { agent: scope.caller.agent } : {}),
  };
}
