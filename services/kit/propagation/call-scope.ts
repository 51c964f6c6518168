import { AsyncLocalStorage } from "node:async_hooks";
import { context, ROOT_CONTEXT } from "@opentelemetry/api";
import type { Principal } from "../auth/principal.js";
import type { ServiceCaller } from "../auth/service-identity.js";
import { provideCallFields } from "../log/call-fields.js";
import type { ServiceTelemetry } from "../telemetry/telemetry-types.js";
import type { TraceContext } from "./context-keys.js";
import { callLogFields } from "./log-fields.js";

/**
 * Implicit per-request scope (docs/architecture.md, "Identity propagation"). The server bootstrap opens it around the whole Node
 * request handler — the only place an AsyncLocalStorage reaches server-streaming handler bodies —
 * and the server interceptors fill it in. It mirrors the call's `contextValues`, which stay the
 * source of truth; it lets the logger and outgoing clients find the call without parameters.
 */
export interface CallScope {
  principal?: Principal;
  credential?: string;
  /** The verified calling service, when another service made the call. */
  caller?: ServiceCaller;
  /** The agent this process acts as for the call (agent service), see `kActingAgent`. */
  actingAgent?: string;
  trace?: TraceContext;
  requestId?: string;
  /** "package.Service/Method" once known. */
  procedure?: string;
  /** The telemetry of the service handling the call (its tracer and metrics; docs/architecture.md, "Telemetry"). */
  telemetry?: ServiceTelemetry;
}

const storage = new AsyncLocalStorage<CallScope>();

// Every log line written inside a scope carries its call's fields (the logger sits below this module).
provideCallFields(() => callLogFields(storage.getStore()));

/** Runs `fn` inside a fresh call scope: empty but for the serving service's telemetry. */
export function runInCallScope<T>(fn: () => T, telemetry?: ServiceTelemetry): T {
  return storage.run(telemetry ? { telemetry } : {}, fn);
}

/** The scope of the request being handled, or undefined outside any call (start-up, jobs). */
export function currentCallScope(): CallScope | undefined {
  return storage.getStore();
}

/** The telemetry of the service handling the current call; undefined outside any call. */
export function currentTelemetry(): ServiceTelemetry | undefined {
  return currentCallScope()?.telemetry;
}

/**
 * Runs `fn` explicitly outside any call: code started from a request that must not act as the
 * caller (a background job it schedules, say) says so with this. Outside its trace too.
 */
export function runOutsideCall<T>(fn: () => T): T {
  return context.with(ROOT_CONTEXT, () => storage.exit(fn));
}
