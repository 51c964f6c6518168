import { randomUUID } from "node:crypto";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { AuthError } from "../auth/auth-error.js";
import { DEV_ANONYMOUS_PRINCIPAL, type Principal } from "../auth/principal.js";
import type { TokenVerifier } from "../auth/token-verifier.js";
import type { Logger } from "../log/logger.js";
import { parseBearer } from "./bearer.js";
import { currentCallScope } from "./call-scope.js";
import { kCredential, kPrincipal, kRequestId, kTrace } from "./context-keys.js";
import { childSpan, parseTraceparent } from "./trace-context.js";

/** Services that answer without a token so grpcurl and load balancers need no credentials. */
export function isInfrastructureService(typeName: string): boolean {
  return typeName === "grpc.health.v1.Health" || typeName.startsWith("grpc.reflection.");
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Outermost server interceptor: joins the caller's trace (or starts one), takes or makes the
 * request id, records both in `contextValues` and the call scope, echoes `x-request-id`, and logs
 * one line per finished call.
 */
export function createCallContextInterceptor(logger: Logger): Interceptor {
  return (next) => async (req) => {
    const trace = childSpan(parseTraceparent(req.header.get("traceparent")));
    const incomingId = req.header.get("x-request-id");
    const requestId = incomingId && REQUEST_ID.test(incomingId) ? incomingId : randomUUID();
    const procedure = `${req.service.typeName}/${req.method.name}`;
    req.contextValues.set(kTrace, trace).set(kRequestId, requestId);
    const scope = currentCallScope();
    if (scope) Object.assign(scope, { trace, requestId, procedure });
    const started = performance.now();
    try {
      const res = await next(req);
      res.header.set("x-request-id", requestId);
      if (!isInfrastructureService(req.service.typeName)) {
        logger.info({ procedure, duration_ms: elapsed(started) }, "rpc ok");
      }
      return res;
    } catch (err) {
      const ce = ConnectError.from(err);
      ce.metadata.set("x-request-id", requestId);
      const level = ce.code === Code.Internal || ce.code === Code.Unknown ? "error" : "warn";
      logger[level](
        { procedure, code: Code[ce.code], duration_ms: elapsed(started), ...(level === "error" ? { err } : {}) },
        `rpc failed: ${ce.rawMessage}`,
      );
      // Internal failures never leak their message (it may hold a stack or a query) to the caller.
      if (level === "error") throw new ConnectError("internal error", ce.code, ce.metadata);
      throw ce;
    }
  };
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 1000) / 1000;
}

export interface AuthInterceptorOptions {
  readonly verifier: TokenVerifier;
  readonly logger: Logger;
  /** Procedures ("pkg.Service/Method") callable without a token, e.g. Login. */
  readonly publicProcedures?: ReadonlySet<string>;
  /** Brief §10: let token-less calls through as the read-only development principal. */
  readonly devAnonymous?: boolean;
  /** Edge-only: refuses tokens of revoked login sessions (must be cheap: no database round trip). */
  readonly isRevoked?: (principal: Principal) => boolean;
}

/**
 * Verifies the `authorization` metadata of every call and puts the principal and the raw
 * credential into the call's `contextValues` (and the call scope), where handlers and the client
 * interceptor find them. Failures become `unauthenticated` with the machine-readable reason.
 */
export function createAuthInterceptor(options: AuthInterceptorOptions): Interceptor {
  const { verifier, logger } = options;
  const publicProcedures = options.publicProcedures ?? new Set<string>();
  return (next) => async (req) => {
    if (isInfrastructureService(req.service.typeName)) return next(req);
    const procedure = `${req.service.typeName}/${req.method.name}`;
    let principal: Principal | undefined;
    let credential: string | undefined;
    try {
      credential = parseBearer(req.header.get("authorization"));
      if (credential !== undefined) {
        principal = await verifier.verify(credential);
        if (options.isRevoked?.(principal)) throw new AuthError("revoked");
      } else if (!publicProcedures.has(procedure)) {
        if (!options.devAnonymous) throw new AuthError("missing_token");
        principal = DEV_ANONYMOUS_PRINCIPAL;
        logger.warn({ procedure }, "AUTH_DEV_ANONYMOUS: call without a token runs as the development principal");
      }
    } catch (err) {
      if (!(err instanceof AuthError)) throw err;
      const code = err.reason === "jwks_unavailable" ? Code.Unavailable : Code.Unauthenticated;
      const challenge =
        err.reason === "missing_token"
          ? "Bearer"
          : `Bearer error="invalid_token", error_description="${err.reason}"`;
      throw new ConnectError(err.message, code, { "www-authenticate": challenge });
    }
    req.contextValues.set(kPrincipal, principal).set(kCredential, credential);
    const scope = currentCallScope();
    if (scope) Object.assign(scope, { principal, credential });
    return next(req);
  };
}
