// The module's public face: what the rest of the product uses of it (docs/architecture.md, "The kit").
export { METRICS_PATH, metricsRoute } from "./metrics-route.js";
export {
  codeLabel,
  DURATION_BUCKETS,
  serviceTelemetry,
  startTelemetry,
} from "./service-telemetry.js";
export type { ServiceTelemetry } from "./telemetry-types.js";
export {
  activeSpanContext,
  addSpanProcessor,
  extractTrace,
  flushTracing,
  injectTrace,
  parentContext,
  tracerFor,
  unrecordedChild,
} from "./tracing.js";
