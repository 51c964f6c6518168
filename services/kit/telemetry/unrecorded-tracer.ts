import {
  type Context,
  context,
  INVALID_SPAN_CONTEXT,
  isSpanContextValid,
  type Span,
  SpanKind,
  type SpanOptions,
  TraceFlags,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { isTracingSuppressed } from "@opentelemetry/core";
import { RandomIdGenerator, type Sampler, SamplingDecision } from "@opentelemetry/sdk-trace-node";

/**
 * A tracer that records nothing while nothing would receive its spans (docs/architecture.md,
 * "Telemetry"): with no span processor registered — no exporter configured, the default — a span
 * made by the SDK is built, filled with attributes and ended for no one (1.5–3 % of a service's CPU
 * in the profiles of docs/performance.md). Here such a span is the API's non-recording span, with
 * exactly the ids and the `sampled` flag the SDK would have given it: a fresh span id under its
 * parent's trace (or a new trace), and the configured sampler's decision. So log lines, audit rows
 * and the `traceparent` sent downstream are unchanged, and a downstream service that exports still
 * samples what it would have. Once a processor is registered (an exporter, a test's in-memory one),
 * spans are recorded by the SDK again.
 */
export class UnrecordedWithoutProcessors implements Tracer {
  private readonly ids = new RandomIdGenerator();

  constructor(
    private readonly recording: Tracer,
    private readonly recordingWanted: () => boolean,
    private readonly sampler: Sampler,
  ) {}

  startSpan(name: string, options: SpanOptions = {}, ctx: Context = context.active()): Span {
    if (this.recordingWanted()) return this.recording.startSpan(name, options, ctx);
    // As the SDK's tracer does: a root span ignores the active one, suppressed tracing has no span.
    const parentCtx = options.root ? trace.deleteSpan(ctx) : ctx;
    if (isTracingSuppressed(parentCtx)) return trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
    const parent = trace.getSpanContext(parentCtx);
    const child = parent !== undefined && isSpanContextValid(parent);
    const traceId = child ? parent.traceId : this.ids.generateTraceId();
    const sampled = this.sampler.shouldSample(
      parentCtx,
      traceId,
      name,
      options.kind ?? SpanKind.INTERNAL,
      options.attributes ?? {},
      options.links ?? [],
    );
    const traceState = sampled.traceState ?? (child ? parent.traceState : undefined);
    return trace.wrapSpanContext({
      traceId,
      spanId: this.ids.generateSpanId(),
      traceFlags:
        sampled.decision === SamplingDecision.RECORD_AND_SAMPLED ? TraceFlags.SAMPLED : TraceFlags.NONE,
      ...(traceState ? { traceState } : {}),
    });
  }

  startActiveSpan<F extends (span: Span) => unknown>(name: string, fn: F): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(
    name: string,
    options: SpanOptions,
    fn: F,
  ): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(
    name: string,
    options: SpanOptions,
    ctx: Context,
    fn: F,
  ): ReturnType<F>;
  startActiveSpan<F extends (span: Span) => unknown>(
    name: string,
    a: SpanOptions | F,
    b?: Context | F,
    c?: F,
  ): ReturnType<F> {
    const options = typeof a === "function" ? {} : a;
    const ctx = typeof b === "object" ? b : context.active();
    const fn = (typeof a === "function" ? a : typeof b === "function" ? b : c) as F;
    const span = this.startSpan(name, options, ctx);
    return context.with(trace.setSpan(ctx, span), () => fn(span)) as ReturnType<F>;
  }
}
