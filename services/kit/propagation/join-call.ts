import { randomUUID } from "node:crypto";
import {
  type Attributes,
  type Context,
  context,
  type Span,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  trace,
} from "@opentelemetry/api";
import {
  extractTrace,
  injectTrace,
  parentContext,
  tracerFor,
  unrecordedChild,
} from "../telemetry/tracing.js";
import { currentCallScope } from "./call-scope.js";
import type { TraceContext } from "./context-keys.js";

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** What a call carries about where it belongs: the W3C trace and the request id. */
export interface CallIdentity {
  readonly trace: TraceContext;
  readonly requestId: string;
}

/** A call joined: its identity and this service's (server) span for it, which the caller ends. */
export interface JoinedCall extends CallIdentity {
  readonly span: Span;
}

export interface JoinOptions {
  /** The span's name (default: the procedure). Bounded: never a path a caller chose. */
  readonly spanName?: string;
  readonly attributes?: Attributes;
  /** False for probes and reflection: ids for the log lines, but no span recorded. */
  readonly record?: boolean;
  /** When the call began, if before now (`performance.now()` time): the span starts there. */
  readonly startedAt?: number;
}

/**
 * The one propagation core for incoming calls, Connect and plain HTTP alike: joins the caller's
 * W3C trace (`traceparent`, read by OpenTelemetry's propagator) or starts one with this service's
 * server span, takes a well-formed `x-request-id` (or makes one), and records both, with the
 * procedure, in the current call scope so every log line of the call carries them. The caller
 * runs the call inside `trace.context` and ends `span` (`endSpan`) when the call is over.
 */
export function joinCall(
  header: (name: string) => string | null | undefined,
  procedure: string,
  options: JoinOptions = {},
): JoinedCall {
  const scope = currentCallScope();
  const parent = extractTrace(header);
  const ctx =
    options.record === false
      ? unrecordedChild(parent)
      : trace.setSpan(
          parent,
          tracerFor(scope?.telemetry?.service).startSpan(
            options.spanName ?? procedure,
            {
              kind: SpanKind.SERVER,
              ...(options.attributes ? { attributes: options.attributes } : {}),
              ...(options.startedAt === undefined
                ? {}
                : { startTime: performance.timeOrigin + options.startedAt }),
            },
            parent,
          ),
        );
  const span = trace.getSpan(ctx) as Span;
  const traceContext = traceContextOf(ctx);
  const incoming = header("x-request-id");
  const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
  if (scope) Object.assign(scope, { trace: traceContext, requestId, procedure });
  return { trace: traceContext, requestId, span };
}

/** The ids of `ctx`'s span, with `ctx` itself. */
export function traceContextOf(ctx: Context): TraceContext {
  const sc = trace.getSpanContext(ctx);
  return {
    traceId: sc?.traceId ?? "",
    spanId: sc?.spanId ?? "",
    sampled: ((sc?.traceFlags ?? 0) & TraceFlags.SAMPLED) === TraceFlags.SAMPLED,
    context: ctx,
  };
}

/** Ends a call's span: an error status with `error` (a code or reason; never its message's secrets). */
export function endSpan(span: Span, error?: string): void {
  if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: error });
  span.end();
}

/** A header reader over Node's incoming headers (HTTP/1.1 and HTTP/2 alike). */
export function nodeHeader(headers: Record<string, string | string[] | undefined>) {
  return (name: string): string | undefined => {
    const v = headers[name];
    return typeof v === "string" ? v : undefined;
  };
}

/**
 * The one propagation core for outgoing calls: the headers that carry the current call's trace
 * (the active span — a client span, a tool run — or else the call's own becomes the callee's
 * parent; OpenTelemetry's W3C propagator writes them) and request id. Empty outside any call.
 */
export function outgoingCallHeaders(
  call: Partial<CallIdentity> | undefined = currentCallScope(),
): Record<string, string> {
  const headers = call?.trace ? injectTrace(parentContext(call.trace.context)) : {};
  if (call?.requestId) headers["x-request-id"] = call.requestId;
  return headers;
}

/** Runs `fn` with `ctx` active (its spans, log lines and calls belong there). */
export function inTrace<T>(ctx: Context, fn: () => T): T {
  return context.with(ctx, fn);
}
