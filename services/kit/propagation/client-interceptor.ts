import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { SpanKind, trace } from "@opentelemetry/api";
import { codeLabel } from "../telemetry/service-telemetry.js";
import { activeSpanContext, injectTrace, parentContext, tracerFor } from "../telemetry/tracing.js";
import { callAttributes } from "./call-attributes.js";
import { currentCallScope } from "./call-scope.js";
import { kCredential, kRequestId, kTrace } from "./context-keys.js";
import { endSpan } from "./join-call.js";

/**
 * Client interceptor on every outgoing Connect call: copies the current call's credential, trace
 * context and request id onto the request. It reads the `contextValues` the handler forwarded
 * (`{ contextValues: ctx.values }`), falling back to the call scope opened around the request
 * handler. Inside a call it opens a client span for the call (the callee's parent, in
 * `traceparent`) and counts it in the service's RPC metrics (docs/architecture.md, "Telemetry").
 * Outside any call there is nothing to copy and nothing is sent.
 * An explicitly set `authorization` header (a service acting as itself) is left alone.
 */
export function createPropagationInterceptor(): Interceptor {
  return (next) => async (req) => {
    const scope = currentCallScope();
    const credential = req.contextValues.get(kCredential) ?? scope?.credential;
    const forwarded = req.contextValues.get(kTrace) ?? scope?.trace;
    const requestId = req.contextValues.get(kRequestId) ?? scope?.requestId;
    if (credential !== undefined && !req.header.has("authorization")) {
      req.header.set("authorization", `Bearer ${credential}`);
    }
    if (requestId !== undefined) req.header.set("x-request-id", requestId);
    const parent = forwarded || activeSpanContext() ? parentContext(forwarded?.context) : undefined;
    if (parent === undefined) return next(req);

    const procedure = `${req.service.typeName}/${req.method.name}`;
    const telemetry = scope?.telemetry;
    const span = tracerFor(telemetry?.service).startSpan(
      procedure,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          "rpc.system": "connect_rpc",
          "rpc.service": req.service.typeName,
          "rpc.method": req.method.name,
          ...callAttributes(scope),
        },
      },
      parent,
    );
    for (const [name, value] of Object.entries(injectTrace(trace.setSpan(parent, span))))
      req.header.set(name, value);
    const metrics = telemetry?.rpc.client;
    metrics?.started.inc({ procedure });
    const started = performance.now();
    const finish = once((code: Code | undefined) => {
      if (code !== undefined) span.setAttribute("rpc.connect_rpc.error_code", codeLabel(code));
      endSpan(span, code === undefined ? undefined : codeLabel(code));
      metrics?.handled.inc({ procedure, code: codeLabel(code) });
      metrics?.seconds.observe({ procedure }, (performance.now() - started) / 1000);
    });
    let res: Awaited<ReturnType<typeof next>>;
    try {
      res = await next(req);
    } catch (err) {
      finish(ConnectError.from(err).code);
      throw err;
    }
    if (!res.stream) {
      finish(undefined);
      return res;
    }
    return { ...res, message: endedWith(res.message, finish) };
  };
}

/** A response stream passed through; `finish` is told how it ended (read to its end, failed, or dropped). */
async function* endedWith<T>(
  messages: AsyncIterable<T>,
  finish: (code: Code | undefined) => void,
): AsyncGenerator<T> {
  let ended = false;
  try {
    yield* messages;
    ended = true;
    finish(undefined);
  } catch (err) {
    ended = true;
    finish(ConnectError.from(err).code);
    throw err;
  } finally {
    if (!ended) finish(Code.Canceled); // the consumer stopped reading
  }
}

function once<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
  let done = false;
  return (...args) => {
    if (done) return;
    done = true;
    fn(...args);
  };
}
