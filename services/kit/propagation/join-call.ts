import { randomUUID } from "node:crypto";
import { currentCallScope } from "./call-scope.js";
import type { TraceContext } from "./context-keys.js";
import { childSpan, formatTraceparent, parseTraceparent } from "./trace-context.js";

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** What a call carries about where it belongs: the W3C trace and the request id. */
export interface CallIdentity {
  readonly trace: TraceContext;
  readonly requestId: string;
}

/**
 * The one propagation core for incoming calls, Connect and plain HTTP alike: joins the caller's
 * W3C trace (or starts one), takes a well-formed `x-request-id` (or makes one), and records both,
 * with the procedure, in the current call scope so every log line of the call carries them.
 */
export function joinCall(
  header: (name: string) => string | null | undefined,
  procedure: string,
): CallIdentity {
  const trace = childSpan(parseTraceparent(header("traceparent")));
  const incoming = header("x-request-id");
  const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
  const scope = currentCallScope();
  if (scope) Object.assign(scope, { trace, requestId, procedure });
  return { trace, requestId };
}

/** A header reader over Node's incoming headers (HTTP/1.1 and HTTP/2 alike). */
export function nodeHeader(headers: Record<string, string | string[] | undefined>) {
  return (name: string): string | undefined => {
    const v = headers[name];
    return typeof v === "string" ? v : undefined;
  };
}

/**
 * The one propagation core for outgoing calls: the headers that carry the current call's trace
 * (our span becomes the callee's parent) and request id. Empty outside any call.
 */
export function outgoingCallHeaders(
  call: Partial<CallIdentity> | undefined = currentCallScope(),
): Record<string, string> {
  const headers: Record<string, string> = {};
  if (call?.trace) headers.traceparent = formatTraceparent(call.trace);
  if (call?.requestId) headers["x-request-id"] = call.requestId;
  return headers;
}
