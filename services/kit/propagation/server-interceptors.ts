import type { DescMethod, DescService } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ContextValues,
  type HandlerContext,
  type Interceptor,
} from "@connectrpc/connect";
import { context } from "@opentelemetry/api";
import type { BearerAuthOptions } from "../auth/bearer-auth.js";
import { SERVICE_AUTHORIZATION_HEADER } from "../auth/service-identity.js";
import type { ServiceTokenVerifier } from "../auth/token-verifier.js";
import type { Logger } from "../log/logger.js";
import { callOutcomes, type ServedCall } from "./call-outcome.js";
import { currentCallScope, currentTelemetry } from "./call-scope.js";
import { authenticateCaller } from "./caller-authentication.js";
import { type CallerRules, ruleFor } from "./caller-policy.js";
import {
  kAuthenticated,
  kCaller,
  kCallStarted,
  kCredential,
  kPrincipal,
  kRequestId,
  kTrace,
  type TraceContext,
} from "./context-keys.js";
import { joinCall } from "./join-call.js";
import { pulledIn, reportStreamEnd } from "./stream-outcome.js";
import { authenticateUser } from "./user-authentication.js";

/** Services that answer without a token so grpcurl and load balancers need no credentials. */
export function isInfrastructureService(typeName: string): boolean {
  return typeName === "grpc.health.v1.Health" || typeName.startsWith("grpc.reflection.");
}

/**
 * Outermost server interceptor: joins the caller's trace (or starts one) with this service's
 * server span for the call, takes or makes the request id, records both in `contextValues` and the
 * call scope, echoes `x-request-id`, runs the call (a stream's every pull) inside the span, and
 * reports each finished call once — for a server stream when it has ended, with its whole duration
 * — in one log line, the span's end and the service's RPC metrics (docs/architecture.md, "Telemetry").
 */
export function createCallContextInterceptor(logger: Logger): Interceptor {
  return (next) => async (req) => {
    const { call, trace } = openServedCall(req);
    const outcomes = callOutcomes(call, logger);
    let res: Awaited<ReturnType<typeof next>>;
    try {
      res = await context.with(trace.context, () => next(req));
    } catch (err) {
      throw outcomes.failed(err);
    }
    res.header.set("x-request-id", call.requestId);
    if (!res.stream) {
      outcomes.succeeded();
      return res;
    }
    // A server stream has only started: its handler runs while the messages are pulled, each pull
    // inside the call's span.
    return { ...res, message: reportStreamEnd(pulledIn(trace.context, res.message), req.signal, outcomes) };
  };
}

/** What opening a call reads of it: the interceptors' request, or the gate's handler context. */
interface IncomingCall {
  readonly service: DescService;
  readonly method: DescMethod;
  readonly header: Headers;
  readonly contextValues: ContextValues;
  readonly signal: AbortSignal;
}

/** Joins the call's trace (its server span started), takes or makes its request id, counts it started. */
function openServedCall(req: IncomingCall): { call: ServedCall; trace: TraceContext } {
  const procedure = `${req.service.typeName}/${req.method.name}`;
  const quiet = isInfrastructureService(req.service.typeName); // probes and grpcurl: failures only
  const startedAt = req.contextValues.get(kCallStarted) ?? performance.now();
  const { trace, requestId, span } = joinCall((name) => req.header.get(name), procedure, {
    record: !quiet,
    startedAt,
    attributes: {
      "rpc.system": "connect_rpc",
      "rpc.service": req.service.typeName,
      "rpc.method": req.method.name,
    },
  });
  req.contextValues.set(kTrace, trace).set(kRequestId, requestId);
  const call: ServedCall = {
    procedure,
    quiet,
    streaming: req.method.methodKind !== "unary",
    started: startedAt,
    requestId,
    span,
    metrics: quiet ? undefined : currentTelemetry()?.rpc,
    contextValues: req.contextValues,
    signal: req.signal,
  };
  call.metrics?.server.started.inc({ procedure });
  if (call.streaming) call.metrics?.streamsOpen.inc({ procedure });
  return { call, trace };
}

export interface AuthInterceptorOptions extends Omit<BearerAuthOptions, "devAnonymous"> {
  readonly logger: Logger;
  /** Procedures ("pkg.Service/Method") callable without a token, e.g. Login. */
  readonly publicProcedures?: ReadonlySet<string>;
  /** Brief §10: let token-less calls through as the read-only development principal. */
  readonly devAnonymous?: boolean;
  /**
   * Which callers each procedure accepts, and the verifier of service credentials addressed to this
   * service. Without it every procedure serves users directly (the edge).
   */
  readonly callers?: { readonly rules: CallerRules; readonly verifier: ServiceTokenVerifier };
}

/**
 * Authenticates every call before its request body is read, received, decompressed or parsed
 * (connect-es's `requestGate`): the calling service's credential (`x-service-authorization`)
 * against the procedure's caller rule, and the user's `authorization` token. A caller without a
 * valid credential so costs a header's check, never a message's decoding (docs/architecture.md,
 * "Identity propagation"). Puts the verified caller, principal and raw user credential into the
 * call's `contextValues`, where handlers and the client interceptor find them. Bad credentials are
 * `unauthenticated` with the machine-readable reason; a verified caller the rule does not admit is
 * `permission_denied`; either is reported as the call's outcome (one log line, its span, metrics)
 * as the call-context interceptor reports any other.
 */
export function createAuthGate(options: AuthInterceptorOptions): (ctx: HandlerContext) => Promise<void> {
  return async (ctx) => {
    ctx.values.set(kCallStarted, performance.now());
    if (isInfrastructureService(ctx.service.typeName)) return;
    try {
      await authenticateCall(ctx, options);
    } catch (err) {
      const { call } = openServedCall({
        service: ctx.service,
        method: ctx.method,
        header: ctx.requestHeader,
        contextValues: ctx.values,
        signal: ctx.signal,
      });
      throw callOutcomes(call, options.logger).failed(err);
    }
  };
}

async function authenticateCall(ctx: HandlerContext, options: AuthInterceptorOptions): Promise<void> {
  const publicProcedures = options.publicProcedures ?? new Set<string>();
  const procedure = `${ctx.service.typeName}/${ctx.method.name}`;
  const rule = ruleFor(options.callers?.rules, ctx.service.typeName, ctx.method.name);
  const caller = await authenticateCaller(
    ctx.requestHeader.get(SERVICE_AUTHORIZATION_HEADER),
    rule,
    procedure,
    options.callers?.verifier,
  );
  const isPublic = publicProcedures.has(procedure);
  const user = await authenticateUser(
    ctx.requestHeader.get("authorization"),
    { procedure, userOptional: rule.user !== "required" || isPublic, isPublic },
    options,
  );
  ctx.values.set(kAuthenticated, true);
  if (user.kind === "expired_on_public") return;
  ctx.values.set(kPrincipal, user.principal).set(kCredential, user.credential).set(kCaller, caller);
}

/**
 * Inside the call's span: puts what the gate verified into the call scope (the logger and
 * outgoing clients find it there), and refuses a call the gate did not authenticate — a handler
 * never runs on a call nobody checked, whatever a server forgot to configure.
 */
export function createAuthInterceptor(logger: Logger): Interceptor {
  return (next) => async (req) => {
    if (isInfrastructureService(req.service.typeName)) return next(req);
    if (!req.contextValues.get(kAuthenticated)) {
      throw new ConnectError("the call was not authenticated before it was served", Code.Internal);
    }
    const principal = req.contextValues.get(kPrincipal);
    const scope = currentCallScope();
    if (scope) {
      const credential = req.contextValues.get(kCredential);
      Object.assign(scope, { principal, credential, caller: req.contextValues.get(kCaller) });
    }
    if (principal?.anonymous) {
      logger.warn(
        { procedure: `${req.service.typeName}/${req.method.name}` },
        "AUTH_DEV_ANONYMOUS: call without a token runs as the development principal",
      );
    }
    return next(req);
  };
}
