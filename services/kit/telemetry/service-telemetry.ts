import { Code } from "@connectrpc/connect";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { RpcMetrics, ServiceTelemetry } from "./telemetry-types.js";
import { configureTracing, type TracingConfig, tracerFor } from "./tracing.js";

export type { RpcMetrics, ServiceTelemetry } from "./telemetry-types.js";

/** Seconds: a ms-fast lookup to a minute-long streamed turn. */
export const DURATION_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
];
const LAG_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

const byService = new Map<string, ServiceTelemetry>();

/** The telemetry of `service` in this process (made on first use, with the process metrics). */
export function serviceTelemetry(service: string): ServiceTelemetry {
  const known = byService.get(service);
  if (known) return known;
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  // CPU, resident memory, heap, GC, event-loop delay (monitorEventLoopDelay), handles: prom-client's set.
  collectDefaultMetrics({ register: registry });
  const rpc = (side: "server" | "client"): RpcMetrics => ({
    started: new Counter({
      name: `rpc_${side}_started_total`,
      help: `RPCs ${side === "server" ? "received" : "sent"}, by procedure`,
      labelNames: ["procedure"],
      registers: [registry],
    }),
    handled: new Counter({
      name: `rpc_${side}_handled_total`,
      help: `RPCs ${side === "server" ? "answered" : "completed"}, by procedure and Connect code (ok or the error's code)`,
      labelNames: ["procedure", "code"],
      registers: [registry],
    }),
    seconds: new Histogram({
      name: `rpc_${side}_handling_seconds`,
      help: `RPC duration (${side} side), a stream's until it ended`,
      labelNames: ["procedure"],
      buckets: DURATION_BUCKETS,
      registers: [registry],
    }),
  });
  const telemetry: ServiceTelemetry = {
    service,
    tracer: tracerFor(service),
    registry,
    rpc: {
      server: rpc("server"),
      client: rpc("client"),
      streamsOpen: new Gauge({
        name: "rpc_server_streams_open",
        help: "Server-streaming calls in progress, by procedure",
        labelNames: ["procedure"],
        registers: [registry],
      }),
    },
    authRefusals: new Counter({
      name: "auth_refusals_total",
      help: "Credentials refused, by kind (user bearer token, service credential) and reason",
      labelNames: ["credential", "reason"],
      registers: [registry],
    }),
    revocationLag: new Histogram({
      name: "revocation_lag_seconds",
      help: "Time from a session's revocation at the identity service to this service hearing of it on the feed (live messages, not the snapshot)",
      buckets: LAG_BUCKETS,
      registers: [registry],
    }),
    metric<M>(name: string, make: (registry: Registry) => M): M {
      return (registry.getSingleMetric(name) as M | undefined) ?? make(registry);
    },
  };
  byService.set(service, telemetry);
  return telemetry;
}

/**
 * What a service's start calls first: the process's tracing from the OTEL_* settings (the first
 * service of a process decides), and this service's telemetry.
 */
export function startTelemetry(service: string, config: TracingConfig): ServiceTelemetry {
  configureTracing(service, config);
  return serviceTelemetry(service);
}

/** A Connect code as the Connect protocol spells it: "ok", "invalid_argument", "unavailable". */
export function codeLabel(code: Code | undefined): string {
  if (code === undefined) return "ok";
  const name: string | undefined = Code[code];
  return name ? name.replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase() : "unknown";
}
