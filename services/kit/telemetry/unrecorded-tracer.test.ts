import { context, ROOT_CONTEXT, type Span, TraceFlags, trace } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  InMemorySpanExporter,
  ParentBasedSampler,
  type Sampler,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-node";
import { describe, expect, it } from "vitest";
import { tracerFor } from "./tracing.js";
import { UnrecordedWithoutProcessors } from "./unrecorded-tracer.js";

/**
 * The tracer that records nothing while nothing would receive its spans (unrecorded-tracer.ts):
 * the same ids and `sampled` flag as the SDK's own spans, none of their recording; recording again
 * as soon as a processor is there. Compared with the SDK's tracer over the same sampler.
 */
const propagator = new W3CTraceContextPropagator();
const parentHeader = (flags: "01" | "00") => `00-${"a".repeat(32)}-${"b".repeat(16)}-${flags}`;
const remoteParent = (flags: "01" | "00") =>
  propagator.extract(
    ROOT_CONTEXT,
    { traceparent: parentHeader(flags), tracestate: "vendor=x" },
    {
      get: (carrier: Record<string, string>, key) => carrier[key],
      keys: (carrier) => Object.keys(carrier),
    },
  );

function tracers(sampler: Sampler, recordingWanted = () => false) {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ sampler, spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const sdk = provider.getTracer("test");
  return { sdk, unrecorded: new UnrecordedWithoutProcessors(sdk, recordingWanted, sampler), exporter };
}

const traceparentOf = (span: Span) => {
  const headers: Record<string, string> = {};
  propagator.inject(trace.setSpan(ROOT_CONTEXT, span), headers, {
    set: (carrier, key, value) => {
      carrier[key] = value;
    },
  });
  return headers;
};

describe("spans unrecorded while no processor would receive them", () => {
  const defaultSampler = () => new ParentBasedSampler({ root: new AlwaysOnSampler() });

  it("a root span: a new trace, sampled as the SDK samples it, and nothing recorded", () => {
    const { sdk, unrecorded, exporter } = tracers(defaultSampler());
    const span = unrecorded.startSpan("root");
    const made = sdk.startSpan("root");
    expect(span.isRecording()).toBe(false);
    expect(span.spanContext().traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(span.spanContext().spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(span.spanContext().traceFlags).toBe(made.spanContext().traceFlags);
    expect(span.spanContext().traceFlags).toBe(TraceFlags.SAMPLED);
    span.setAttribute("k", "v");
    span.end();
    made.end();
    // Only the SDK's own span reached the processor.
    expect(exporter.getFinishedSpans()).toHaveLength(1);
  });

  it("a child of a remote caller: the caller's trace and trace state, a span id of its own, its sampled flag carried on", () => {
    for (const flags of ["01", "00"] as const) {
      const { sdk, unrecorded } = tracers(defaultSampler());
      const parent = remoteParent(flags);
      const span = unrecorded.startSpan("child", {}, parent);
      const made = sdk.startSpan("child", {}, parent);
      expect(span.spanContext().traceId).toBe("a".repeat(32));
      expect(span.spanContext().spanId).not.toBe("b".repeat(16));
      expect(span.spanContext().traceFlags).toBe(made.spanContext().traceFlags);
      expect(span.spanContext().traceState?.get("vendor")).toBe("x");
      // What the next hop is sent: the same trace, this span, the same decision.
      expect(traceparentOf(span).traceparent).toBe(
        `00-${"a".repeat(32)}-${span.spanContext().spanId}-${flags}`,
      );
    }
  });

  it("the configured sampler decides (always_off: not sampled), and `root` ignores the active span", () => {
    const off = tracers(new AlwaysOffSampler());
    expect(off.unrecorded.startSpan("x").spanContext().traceFlags).toBe(TraceFlags.NONE);
    const { unrecorded } = tracers(defaultSampler());
    const parent = remoteParent("01");
    const root = unrecorded.startSpan("root", { root: true }, parent);
    expect(root.spanContext().traceId).not.toBe("a".repeat(32));
  });

  it("startActiveSpan makes the span active inside the callback, with each of its call forms", () => {
    // The process's context manager, registered as a service's is (by the kit's tracing).
    tracerFor(undefined);
    const { unrecorded } = tracers(defaultSampler());
    const parent = remoteParent("01");
    const activeIn = (span: Span) => ({ span, active: trace.getSpan(context.active()) });
    const seen = [
      unrecorded.startActiveSpan("a", activeIn),
      unrecorded.startActiveSpan("b", {}, activeIn),
      unrecorded.startActiveSpan("c", {}, parent, activeIn),
    ];
    for (const { span, active } of seen) expect(active).toBe(span);
    expect(seen.map(({ span }) => span.spanContext().traceId)[2]).toBe("a".repeat(32));
  });

  it("records through the SDK again as soon as a processor is there", () => {
    let wanted = false;
    const { unrecorded, exporter } = tracers(defaultSampler(), () => wanted);
    unrecorded.startSpan("before").end();
    wanted = true;
    const span = unrecorded.startSpan("after", { attributes: { k: "v" } });
    expect(span.isRecording()).toBe(true);
    span.end();
    expect(exporter.getFinishedSpans().map((s) => [s.name, s.attributes.k])).toEqual([["after", "v"]]);
  });
});
