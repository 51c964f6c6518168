import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import {
  type Context,
  context,
  isSpanContextValid,
  ROOT_CONTEXT,
  type SpanContext,
  TraceFlags,
  type Tracer,
  trace,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import type { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { defaultResource, resourceFromAttributes } from "@opentelemetry/resources";
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  NodeTracerProvider,
  ParentBasedSampler,
  type ReadableSpan,
  type Sampler,
  type Span,
  type SpanProcessor,
  TraceIdRatioBasedSampler,
} from "@opentelemetry/sdk-trace-node";
import { UnrecordedWithoutProcessors } from "./unrecorded-tracer.js";

/**
 * The process's OpenTelemetry tracing (docs/architecture.md, "Telemetry"): one tracer provider per
 * process, W3C Trace Context propagation, and an exporter only when the standard variables ask
 * for one. With export off every span still gets its W3C ids — they are what joins a call to its
 * caller, what log lines carry as `trace_id`/`span_id` and what the audit row stores — but nothing
 * is recorded (unrecorded-tracer.ts) and no span leaves the process.
 */

/**
 * The standard OpenTelemetry variables tracing follows, as the kit's configuration schema parses
 * them (docs/configuration.md): named here rather than taken from the product's `Config`, so
 * telemetry stays below the service wiring that owns it (docs/architecture.md, "The kit").
 */
export interface TracingConfig {
  readonly OTEL_SDK_DISABLED: boolean;
  readonly OTEL_TRACES_EXPORTER: readonly ("otlp" | "console" | "none")[];
  readonly OTEL_EXPORTER_OTLP_ENDPOINT?: string | undefined;
  readonly OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?: string | undefined;
  readonly OTEL_SERVICE_NAME?: string | undefined;
  readonly OTEL_TRACES_SAMPLER:
    | "always_on"
    | "always_off"
    | "traceidratio"
    | "parentbased_always_on"
    | "parentbased_always_off"
    | "parentbased_traceidratio";
  readonly OTEL_TRACES_SAMPLER_ARG?: number | undefined;
}

/** Where spans go: the exporters `config` names, none when it names none (the default). */
export function tracesExporters(config: TracingConfig): ("otlp" | "console")[] {
  if (config.OTEL_SDK_DISABLED) return [];
  const named = config.OTEL_TRACES_EXPORTER.filter((e) => e !== "none");
  if (config.OTEL_TRACES_EXPORTER.length > 0) return [...new Set(named)];
  // No exporter named: an endpoint alone means OTLP (docs/configuration.md).
  const endpoint = config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? config.OTEL_EXPORTER_OTLP_ENDPOINT;
  return endpoint ? ["otlp"] : [];
}

/** Span processors the SDK calls, changeable after the provider is built (tests add an in-memory one). */
class SpanProcessors implements SpanProcessor {
  readonly list = new Set<SpanProcessor>();
  onStart(span: Span, parent: Context): void {
    for (const p of this.list) p.onStart(span, parent);
  }
  onEnd(span: ReadableSpan): void {
    for (const p of this.list) p.onEnd(span);
  }
  async forceFlush(): Promise<void> {
    await Promise.all([...this.list].map((p) => p.forceFlush()));
  }
  async shutdown(): Promise<void> {
    await Promise.all([...this.list].map((p) => p.shutdown()));
  }
}

interface Installed {
  readonly provider: NodeTracerProvider;
  readonly processors: SpanProcessors;
  readonly sampler: Sampler;
  /** One tracer per instrumentation scope (service), made once. */
  readonly tracers: Map<string, Tracer>;
  exporting: boolean;
}

let installed: Installed | undefined;
const propagator = new W3CTraceContextPropagator();

function sampler(config: TracingConfig | undefined): Sampler {
  const ratio = config?.OTEL_TRACES_SAMPLER_ARG ?? 1;
  switch (config?.OTEL_TRACES_SAMPLER) {
    case "always_on":
      return new AlwaysOnSampler();
    case "always_off":
      return new AlwaysOffSampler();
    case "traceidratio":
      return new TraceIdRatioBasedSampler(ratio);
    case "parentbased_always_off":
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case "parentbased_traceidratio":
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
    default:
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

function install(service: string | undefined, config: TracingConfig | undefined): Installed {
  const name = config?.OTEL_SERVICE_NAME ?? service;
  const processors = new SpanProcessors();
  const chosen = sampler(config);
  const provider = new NodeTracerProvider({
    resource: name
      ? defaultResource().merge(resourceFromAttributes({ "service.name": name }))
      : defaultResource(),
    sampler: chosen,
    spanProcessors: [processors],
  });
  // The AsyncLocalStorage context manager (context.with / context.active) and the W3C propagator
  // for anything else in the process that uses the global API.
  provider.register({ propagator });
  installed = { provider, processors, sampler: chosen, tracers: new Map(), exporting: false };
  return installed;
}

/**
 * Sets up the process's tracing from `config` (once: the first service started in a process
 * decides, as each service is its own process outside the tests) and, when it names an exporter,
 * starts exporting (batched). Later calls only add an exporter the first one did not have.
 */
export function configureTracing(service: string, config: TracingConfig): void {
  const current = installed ?? install(service, config);
  if (current.exporting) return;
  const exporters = tracesExporters(config);
  if (exporters.length === 0) return;
  current.exporting = true;
  for (const kind of exporters) {
    if (kind === "console") {
      current.processors.list.add(new BatchSpanProcessor(new ConsoleSpanExporter()));
      continue;
    }
    // OTLP over HTTP (JSON). The traces endpoint is used as given; the base one gets the traces
    // path (docs/configuration.md). Headers, timeout, compression and certificates the exporter
    // reads from OTEL_EXPORTER_OTLP_* itself.
    const url =
      config.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
      (config.OTEL_EXPORTER_OTLP_ENDPOINT
        ? `${config.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, "")}/v1/traces`
        : undefined);
    current.processors.list.add(new BatchSpanProcessor(new (otlpTraceExporter())(url ? { url } : {})));
  }
}

/**
 * The OTLP exporter, loaded only by a process that exports: with its transformer and protobuf
 * code it is ~3 MB of heap and ~0.1 s of start-up in every service that never sends a span
 * (docs/performance.md, "Idle memory of `npm start`").
 */
function otlpTraceExporter(): typeof OTLPTraceExporter {
  const load = createRequire(import.meta.url);
  return (load("@opentelemetry/exporter-trace-otlp-http") as { OTLPTraceExporter: typeof OTLPTraceExporter })
    .OTLPTraceExporter;
}

/** The tracer of `service` (its instrumentation scope: services sharing a process, in tests, stay apart). */
export function tracerFor(service: string | undefined): Tracer {
  const current = installed ?? install(undefined, undefined);
  const scope = service ?? "support-ext";
  let tracer = current.tracers.get(scope);
  if (!tracer) {
    // Spans are recorded only while a processor would receive them (unrecorded-tracer.ts).
    const { processors } = current;
    tracer = new UnrecordedWithoutProcessors(
      current.provider.getTracer(scope),
      () => processors.list.size > 0,
      current.sampler,
    );
    current.tracers.set(scope, tracer);
  }
  return tracer;
}

/** Adds a span processor (tests: an in-memory exporter); returns its removal. */
export function addSpanProcessor(processor: SpanProcessor): () => void {
  const current = installed ?? install(undefined, undefined);
  current.processors.list.add(processor);
  return () => current.processors.list.delete(processor);
}

/** Sends what is still batched (at shutdown); bounded, never throws. */
export async function flushTracing(timeoutMs = 3_000): Promise<void> {
  if (!installed?.exporting) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    installed.provider.forceFlush().catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
      timer.unref();
    }),
  ]);
  clearTimeout(timer);
}

/** Reads W3C `traceparent`/`tracestate` from a carrier into a context (ROOT when absent or invalid). */
export function extractTrace(header: (name: string) => string | null | undefined): Context {
  return propagator.extract(ROOT_CONTEXT, undefined, {
    get: (_carrier, key) => header(key) ?? undefined,
    keys: () => ["traceparent", "tracestate"],
  });
}

/** The W3C headers (`traceparent`, and `tracestate` when there is one) of `ctx`'s span; none without one. */
export function injectTrace(ctx: Context): Record<string, string> {
  const headers: Record<string, string> = {};
  propagator.inject(ctx, headers, {
    set: (carrier, key, value) => {
      carrier[key] = value;
    },
  });
  return headers;
}

/**
 * The context a call made now belongs under: the active one (a span of this call, e.g. a tool
 * run), unless `explicit` — the call's own, forwarded in its context values — is of another trace.
 */
export function parentContext(explicit: Context | undefined): Context {
  const active = context.active();
  if (!explicit) return active;
  const a = trace.getSpanContext(active);
  const e = trace.getSpanContext(explicit);
  return a && e && isSpanContextValid(a) && a.traceId === e.traceId ? active : explicit;
}

/** The span context active now, when valid. */
export function activeSpanContext(): SpanContext | undefined {
  const sc = trace.getSpanContext(context.active());
  return sc && isSpanContextValid(sc) ? sc : undefined;
}

/**
 * A context with fresh W3C ids under `parent` that records nothing (probes and reflection: no span
 * worth exporting, but their log lines still carry ids).
 */
export function unrecordedChild(parent: Context): Context {
  const p = trace.getSpanContext(parent);
  const valid = p !== undefined && isSpanContextValid(p);
  return trace.setSpanContext(parent, {
    traceId: valid ? p.traceId : randomBytes(16).toString("hex"),
    spanId: randomBytes(8).toString("hex"),
    traceFlags: valid ? p.traceFlags : TraceFlags.NONE,
  });
}
