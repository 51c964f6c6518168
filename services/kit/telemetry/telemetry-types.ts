import type { Tracer } from "@opentelemetry/api";
import type { Counter, Gauge, Histogram, Registry } from "prom-client";

// The shape alone, apart from `service-telemetry.ts`, which makes it and reads the call scope: the
// call scope names this shape without importing that file back, so the two depend one way only.

/**
 * One service's telemetry (docs/architecture.md, "Telemetry"): its tracer and its Prometheus
 * registry, served at `/metrics` on its port, with the series every service has. Made once per
 * service name in a process; the server bootstrap puts it in each call's scope, where kit code
 * (interceptors, the bearer core) finds it without parameters.
 */
export interface ServiceTelemetry {
  readonly service: string;
  readonly tracer: Tracer;
  readonly registry: Registry;
  readonly rpc: {
    /** Connect/gRPC calls this service serves, by procedure ("pkg.Service/Method"). */
    readonly server: RpcMetrics;
    /** Calls this service makes to another, by the procedure called. */
    readonly client: RpcMetrics;
    /** Server streams still open, by procedure. */
    readonly streamsOpen: Gauge<"procedure">;
  };
  /** Credentials refused: `credential` "user" (a bearer token) or "service" (x-service-authorization). */
  readonly authRefusals: Counter<"credential" | "reason">;
  /** Time from a revocation (the feed message's `revoked_at_ms`) to this service learning it. */
  readonly revocationLag: Histogram<never>;
  /** A metric of this service's own, made on first use and registered here (the same one after). */
  metric<M>(name: string, make: (registry: Registry) => M): M;
}

export interface RpcMetrics {
  readonly started: Counter<"procedure">;
  /** Finished calls by their Connect code ("ok", "not_found", "unavailable", …): errors are code ≠ ok. */
  readonly handled: Counter<"procedure" | "code">;
  readonly seconds: Histogram<"procedure">;
}
