import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { type Context, context } from "@opentelemetry/api";
import { AuthError } from "../auth/auth-error.js";
import { authenticateBearer, type BearerAuthOptions, isOutage } from "../auth/bearer-auth.js";
import type { Principal } from "../auth/principal.js";
import { SERVICE_AUTHORIZATION_HEADER, type ServiceCaller } from "../auth/service-identity.js";
import type { ServiceTokenVerifier } from "../auth/token-verifier.js";
import type { Logger } from "../log/logger.js";
import { callAttributes } from "../telemetry/call-attributes.js";
import { codeLabel, currentTelemetry } from "../telemetry/service-telemetry.js";
import { parseBearer } from "./bearer.js";
import { currentCallScope } from "./call-scope.js";
import { type CallerRule, type CallerRules, notAllowed, ruleFor } from "./caller-policy.js";
import { kCaller, kCredential, kPrincipal, kRequestId, kTrace } from "./context-keys.js";
import { endSpan, joinCall } from "./join-call.js";

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
    const procedure = `${req.service.typeName}/${req.method.name}`;
    const quiet = isInfrastructureService(req.service.typeName); // probes and grpcurl: failures only
    const { trace, requestId, span } = joinCall((name) => req.header.get(name), procedure, {
      record: !quiet,
      attributes: {
        "rpc.system": "connect_rpc",
        "rpc.service": req.service.typeName,
        "rpc.method": req.method.name,
      },
    });
    req.contextValues.set(kTrace, trace).set(kRequestId, requestId);
    const started = performance.now();
    const metrics = quiet ? undefined : currentTelemetry()?.rpc;
    const streaming = req.method.methodKind !== "unary";
    metrics?.server.started.inc({ procedure });
    if (streaming) metrics?.streamsOpen.inc({ procedure });
    /** The call is over: its span and metrics, with who it was for (known after authentication). */
    const report = (code: Code | undefined) => {
      if (quiet) return;
      span.setAttributes(
        callAttributes({
          principal: req.contextValues.get(kPrincipal),
          caller: req.contextValues.get(kCaller),
        }),
      );
      if (code !== undefined) span.setAttribute("rpc.connect_rpc.error_code", codeLabel(code));
      // A server span is in error for the server's faults only, not for a caller's mistake.
      endSpan(span, code !== undefined && SERVER_FAULTS.has(code) ? codeLabel(code) : undefined);
      metrics?.server.handled.inc({ procedure, code: codeLabel(code) });
      metrics?.server.seconds.observe({ procedure }, (performance.now() - started) / 1000);
      if (streaming) metrics?.streamsOpen.dec({ procedure });
    };
    const succeeded = () => {
      report(undefined);
      if (!quiet) logger.info({ procedure, duration_ms: elapsed(started) }, "rpc ok");
    };
    /** Logs the failure and returns what the caller may see of it. */
    const failed = (err: unknown): ConnectError => {
      // Anything but a ConnectError is a bug, not an answer: `internal`, as gRPC servers report it.
      const ce = ConnectError.from(err, Code.Internal);
      report(ce.code);
      ce.metadata.set("x-request-id", requestId);
      const level = ce.code === Code.Internal || ce.code === Code.Unknown ? "error" : "warn";
      logger[level](
        {
          procedure,
          code: Code[ce.code],
          duration_ms: elapsed(started),
          ...(level === "error" ? { err } : {}),
        },
        `rpc failed: ${ce.rawMessage}`,
      );
      // Internal failures never leak their message (it may hold a stack or a query) to the caller.
      return level === "error" ? new ConnectError("internal error", ce.code, ce.metadata) : ce;
    };
    /** The client went away or the deadline passed: whatever the handler did next is not the story. */
    const interrupted = (): ConnectError => {
      const ce = req.signal.aborted
        ? ConnectError.from(req.signal.reason, Code.Canceled)
        : new ConnectError("the stream was abandoned before its end", Code.Canceled);
      report(ce.code);
      if (!quiet) {
        logger.warn(
          { procedure, code: Code[ce.code], duration_ms: elapsed(started) },
          `rpc failed: ${ce.rawMessage}`,
        );
      }
      return ce;
    };
    let res: Awaited<ReturnType<typeof next>>;
    try {
      res = await context.with(trace.context, () => next(req));
    } catch (err) {
      throw failed(err);
    }
    res.header.set("x-request-id", requestId);
    if (!res.stream) {
      succeeded();
      return res;
    }
    // A server stream has only started: its handler runs while the messages are pulled, each pull
    // inside the call's span.
    return {
      ...res,
      message: reportStreamEnd(pulledIn(trace.context, res.message), req.signal, {
        succeeded,
        failed,
        interrupted,
      }),
    };
  };
}

/** Codes that are the server's fault: its span is in error (a caller's mistake is not). */
const SERVER_FAULTS: ReadonlySet<Code> = new Set([
  Code.Unknown,
  Code.DeadlineExceeded,
  Code.Unimplemented,
  Code.Internal,
  Code.Unavailable,
  Code.DataLoss,
]);

/**
 * `messages`, each pulled with `ctx` active: a streaming handler's body runs when its messages are
 * pulled, outside the interceptor's own `context.with`.
 */
async function* pulledIn<T>(ctx: Context, messages: AsyncIterable<T>): AsyncGenerator<T> {
  const it = messages[Symbol.asyncIterator]();
  let done = false;
  try {
    for (;;) {
      const r = await context.with(ctx, () => it.next());
      if (r.done) {
        done = true;
        return;
      }
      yield r.value;
    }
  } catch (err) {
    done = true;
    throw err;
  } finally {
    // The consumer stopped early: end the handler as `yield*` would.
    if (!done) await context.with(ctx, async () => it.return?.());
  }
}

/**
 * Passes a response stream through and reports, once, how it ended: every message sent, an error
 * (rethrown as `failed` makes it), or interrupted (client gone, deadline passed, consumer stopped).
 */
async function* reportStreamEnd<T>(
  messages: AsyncIterable<T>,
  signal: AbortSignal,
  report: { succeeded(): void; failed(err: unknown): ConnectError; interrupted(): ConnectError },
): AsyncGenerator<T> {
  let ended = false;
  try {
    yield* messages;
    ended = true;
  } catch (err) {
    ended = true;
    // A write to a closed stream fails too; that is the interruption, not a bug of the handler.
    throw signal.aborted ? report.interrupted() : report.failed(err);
  } finally {
    if (!ended) report.interrupted(); // the consumer stopped pulling
  }
  if (signal.aborted) report.interrupted();
  else report.succeeded();
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 1000) / 1000;
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
 * Authenticates every call: the calling service's credential (`x-service-authorization`) against
 * the procedure's caller rule, and the user's `authorization` token. Puts the verified caller,
 * principal and raw user credential into the call's `contextValues` (and the call scope), where
 * handlers and the client interceptor find them. Bad credentials are `unauthenticated` with the
 * machine-readable reason; a verified caller the rule does not admit is `permission_denied`.
 */
export function createAuthInterceptor(options: AuthInterceptorOptions): Interceptor {
  const { logger } = options;
  const publicProcedures = options.publicProcedures ?? new Set<string>();
  return (next) => async (req) => {
    if (isInfrastructureService(req.service.typeName)) return next(req);
    const procedure = `${req.service.typeName}/${req.method.name}`;
    const rule = ruleFor(options.callers?.rules, req.service.typeName, req.method.name);
    const caller = await authenticateCaller(
      req.header.get(SERVICE_AUTHORIZATION_HEADER),
      rule,
      procedure,
      options,
    );
    const authorization = req.header.get("authorization");
    const userOptional = rule.user !== "required" || publicProcedures.has(procedure);
    let principal: Principal | undefined;
    let credential: string | undefined;
    if (authorization !== null || !userOptional) {
      const outcome = await authenticateBearer(authorization, {
        ...options,
        devAnonymous: options.devAnonymous === true && authorization === null,
      });
      if (!outcome.ok) {
        // A client that attaches its access token to every call sends the expired one to Refresh,
        // which is exactly when it has expired: public procedures treat an expired token as absent.
        // Any other bad token (forged, malformed, revoked, foreign) is still refused everywhere.
        if (outcome.error.reason === "expired" && publicProcedures.has(procedure)) return next(req);
        countRefusal("user", outcome.error.reason);
        throw refusal(outcome.error);
      }
      principal = outcome.principal;
      credential = outcome.token;
      if (principal.anonymous) {
        logger.warn(
          { procedure },
          "AUTH_DEV_ANONYMOUS: call without a token runs as the development principal",
        );
      }
    }
    req.contextValues.set(kPrincipal, principal).set(kCredential, credential).set(kCaller, caller);
    const scope = currentCallScope();
    if (scope) Object.assign(scope, { principal, credential, caller });
    return next(req);
  };
}

/**
 * The calling service, checked against the procedure's rule: its credential verified when
 * present (a present bad credential is always refused), required unless users may call directly.
 */
async function authenticateCaller(
  header: string | null,
  rule: CallerRule,
  procedure: string,
  options: AuthInterceptorOptions,
): Promise<ServiceCaller | undefined> {
  if (rule.services.length === 0) {
    if (rule.directUsers) return undefined;
    countRefusal("service", "service_not_allowed");
    throw notAllowed(procedure, rule, "anyone");
  }
  if (header === null) {
    if (rule.directUsers) return undefined;
    countRefusal("service", "missing_service_credential");
    // Known user, wrong door: the procedure serves services only.
    throw new ConnectError(
      `${procedure} serves the ${rule.services.join(", ")} service${rule.services.length > 1 ? "s" : ""} only: no service credential (${SERVICE_AUTHORIZATION_HEADER}) was presented`,
      Code.PermissionDenied,
    );
  }
  let caller: ServiceCaller;
  try {
    const token = parseBearer(header);
    if (!token || !options.callers) throw new AuthError("missing_token");
    caller = await options.callers.verifier.verify(token);
  } catch (err) {
    if (!(err instanceof AuthError)) throw err;
    countRefusal("service", err.reason);
    const ce = refusal(err);
    throw new ConnectError(`service credential: ${ce.rawMessage}`, ce.code, ce.metadata);
  }
  if (!rule.services.includes(caller.clientId)) {
    countRefusal("service", "service_not_allowed");
    throw notAllowed(procedure, rule, `service ${caller.clientId}`);
  }
  if (rule.agentRequired && caller.agent === undefined) {
    countRefusal("service", "agent_not_proven");
    throw new ConnectError(
      `${procedure} needs the calling service to prove the agent it runs`,
      Code.PermissionDenied,
    );
  }
  return caller;
}

/** Counts a refused credential by its reason (docs/architecture.md, "Telemetry"). */
function countRefusal(credential: "user" | "service", reason: string): void {
  currentTelemetry()?.authRefusals.inc({ credential, reason });
}

/** An authentication failure as the caller sees it: the reason first, a challenge, no token. */
function refusal(err: AuthError): ConnectError {
  const code = isOutage(err.reason) ? Code.Unavailable : Code.Unauthenticated;
  const challenge =
    err.reason === "missing_token"
      ? "Bearer"
      : `Bearer error="invalid_token", error_description="${err.reason}"`;
  return new ConnectError(err.message, code, { "www-authenticate": challenge });
}
