import { createContextKey } from "@connectrpc/connect";
import type { Context } from "@opentelemetry/api";
import type { Principal } from "../auth/principal.js";
import type { ServiceCaller } from "../auth/service-identity.js";

/**
 * Keys of the per-call Connect `contextValues`: the source of truth for who is calling and
 * which trace a call belongs to. The server interceptors fill them; handlers read them from
 * `ctx.values`; the client interceptor copies them onto outgoing calls.
 * Kept in a file of their own so every module can import them without cycles.
 */

/** The verified caller; undefined on public methods called without a token. */
export const kPrincipal = createContextKey<Principal | undefined>(undefined, { description: "principal" });

/** The raw bearer token the caller presented (without "Bearer "), to forward downstream. */
export const kCredential = createContextKey<string | undefined>(undefined, { description: "credential" });

/** The current call's place in its W3C trace: the ids of this service's span for the call. */
export interface TraceContext {
  readonly traceId: string;
  readonly spanId: string;
  readonly sampled: boolean;
  /** The OpenTelemetry context whose span is the call's: spans and calls made for the call start under it. */
  readonly context: Context;
}
export const kTrace = createContextKey<TraceContext | undefined>(undefined, { description: "trace" });

/** Request id (from `x-request-id`, or generated at the edge). */
export const kRequestId = createContextKey<string | undefined>(undefined, { description: "request id" });

/** The TCP peer of the call (a proxy's address when behind one); set by the server bootstrap. */
export const kPeerAddress = createContextKey<string | undefined>(undefined, { description: "peer address" });

/**
 * Set by the authentication gate once it has verified a call's credentials (before its body is
 * read): what the auth interceptor requires, so a handler never runs on a call nobody checked.
 */
export const kAuthenticated = createContextKey<boolean>(false, { description: "authenticated" });

/**
 * When the gate first saw the call (`performance.now()`): a call's duration, span and metrics
 * count from there, so the time its credentials took to verify is the call's too.
 */
export const kCallStarted = createContextKey<number | undefined>(undefined, { description: "call started" });

/** The verified calling service (from `x-service-authorization`); undefined for direct user calls. */
export const kCaller = createContextKey<ServiceCaller | undefined>(undefined, {
  description: "calling service",
});

/**
 * The registered agent this process acts as for the current call (set by the agent service's Run
 * handler); outgoing calls ask for a service token naming it, which is how the agent is proven.
 */
export const kActingAgent = createContextKey<string | undefined>(undefined, { description: "acting agent" });
