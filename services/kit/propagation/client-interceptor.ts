import type { Interceptor } from "@connectrpc/connect";
import { currentCallScope } from "./call-scope.js";
import { kCredential, kRequestId, kTrace } from "./context-keys.js";
import { outgoingCallHeaders } from "./join-call.js";

/**
 * Client interceptor on every outgoing Connect call: copies the current call's credential, trace
 * context and request id onto the request. It reads the `contextValues` the handler forwarded
 * (`{ contextValues: ctx.values }`), falling back to the call scope opened around the request
 * handler. Outside any call there is nothing to copy and nothing is sent.
 * An explicitly set `authorization` header (a service acting as itself) is left alone.
 */
export function createPropagationInterceptor(): Interceptor {
  return (next) => async (req) => {
    const scope = currentCallScope();
    const credential = req.contextValues.get(kCredential) ?? scope?.credential;
    const trace = req.contextValues.get(kTrace) ?? scope?.trace;
    const requestId = req.contextValues.get(kRequestId) ?? scope?.requestId;
    if (credential !== undefined && !req.header.has("authorization")) {
      req.header.set("authorization", `Bearer ${credential}`);
    }
    for (const [name, value] of Object.entries(outgoingCallHeaders({ trace, requestId })))
      req.header.set(name, value);
    return next(req);
  };
}
