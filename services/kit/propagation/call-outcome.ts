import { Code, ConnectError, type ContextValues } from "@connectrpc/connect";
import type { Span } from "@opentelemetry/api";
import type { Logger } from "../log/logger.js";
import { codeLabel } from "../telemetry/service-telemetry.js";
import type { ServiceTelemetry } from "../telemetry/telemetry-types.js";
import { callAttributes } from "./call-attributes.js";
import { kCaller, kPrincipal } from "./context-keys.js";
import { endSpan } from "./join-call.js";
import type { CallOutcomes } from "./stream-outcome.js";

/** A call being served, as the call context interceptor opened it. */
export interface ServedCall {
  /** "package.Service/Method". */
  readonly procedure: string;
  /** Probes and grpcurl: no span, no metrics, and failures only in the log. */
  readonly quiet: boolean;
  readonly streaming: boolean;
  /** `performance.now()` when the call began. */
  readonly started: number;
  readonly requestId: string;
  readonly span: Span;
  readonly metrics: ServiceTelemetry["rpc"] | undefined;
  /** Where authentication leaves the principal and the calling service. */
  readonly contextValues: ContextValues;
  readonly signal: AbortSignal;
}

/** Codes that are the server's fault: its span is in error (a caller's mistake is not). */
const SERVER_FAULTS: ReadonlySet<Code> = new Set([
  Code.Unknown,
  Code.DeadlineExceeded,
  Code.Unimplemented,
  Code.Internal,
  Code.Unavailable,
  Code.DataLoss,
]);

/** The ways `call` can end, each logging one line and recording its span and metrics. */
export function callOutcomes(call: ServedCall, logger: Logger): CallOutcomes {
  const { procedure, quiet, started } = call;
  return {
    succeeded() {
      recordCallEnd(call, undefined);
      if (!quiet) logger.info({ procedure, duration_ms: elapsed(started) }, "rpc ok");
    },
    failed(err) {
      // Anything but a ConnectError is a bug, not an answer: `internal`, as gRPC servers report it.
      const ce = ConnectError.from(err, Code.Internal);
      recordCallEnd(call, ce.code);
      ce.metadata.set("x-request-id", call.requestId);
      const level = ce.code === Code.Internal || ce.code === Code.Unknown ? "error" : "warn";
      logger[level](
        {
          procedure,
          code: Code[ce.code],
          duration_ms: elapsed(started),
          ...(level === "error" ? { err } : {}),
        },
        `rpc failed: ${ce.rawMessage}`,
      );
      // Internal failures never leak their message (it may hold a stack or a query) to the caller.
      return level === "error" ? new ConnectError("internal error", ce.code, ce.metadata) : ce;
    },
    interrupted() {
      // Whatever the handler did after the client left or the deadline passed is not the story.
      const ce = call.signal.aborted
        ? ConnectError.from(call.signal.reason, Code.Canceled)
        : new ConnectError("the stream was abandoned before its end", Code.Canceled);
      recordCallEnd(call, ce.code);
      if (!quiet) {
        logger.warn(
          { procedure, code: Code[ce.code], duration_ms: elapsed(started) },
          `rpc failed: ${ce.rawMessage}`,
        );
      }
      return ce;
    },
  };
}

/** The call is over: its span and metrics, with who it was for (known after authentication). */
function recordCallEnd(call: ServedCall, code: Code | undefined): void {
  if (call.quiet) return;
  const { span, metrics, procedure } = call;
  span.setAttributes(
    callAttributes({
      principal: call.contextValues.get(kPrincipal),
      caller: call.contextValues.get(kCaller),
    }),
  );
  if (code !== undefined) span.setAttribute("rpc.connect_rpc.error_code", codeLabel(code));
  // A server span is in error for the server's faults only, not for a caller's mistake.
  endSpan(span, code !== undefined && SERVER_FAULTS.has(code) ? codeLabel(code) : undefined);
  metrics?.server.handled.inc({ procedure, code: codeLabel(code) });
  metrics?.server.seconds.observe({ procedure }, (performance.now() - call.started) / 1000);
  if (call.streaming) metrics?.streamsOpen.dec({ procedure });
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 1000) / 1000;
}
