import { Code, ConnectError, type HandlerContext } from "@connectrpc/connect";
import type { Principal } from "../auth/principal.js";
import { kPrincipal } from "./context-keys.js";

/** The verified caller of a handler; `unauthenticated` if the procedure was reached without one. */
export function requirePrincipal(ctx: HandlerContext): Principal {
  const principal = ctx.values.get(kPrincipal);
  if (!principal)
    throw new ConnectError("missing_token: this call needs a bearer token", Code.Unauthenticated);
  return principal;
}

/** Call options that forward the handler's identity, trace and cancellation downstream. */
export function forwardFrom(ctx: HandlerContext): {
  contextValues: HandlerContext["values"];
  signal: AbortSignal;
} {
  return { contextValues: ctx.values, signal: ctx.signal };
}
