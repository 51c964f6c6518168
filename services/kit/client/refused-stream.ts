import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";

/**
 * Node's HTTP/2 errors that mean the server never took the call: a stream it refused
 * (RST_STREAM REFUSED_STREAM, as a server that is shutting down answers new streams after its
 * GOAWAY) or a connection that already said GOAWAY. connect-node turns the stream's 'error' into
 * `internal` before it reads the reset code, so they are told apart here by their Node codes.
 */
function isRefusedStream(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (code === "ERR_HTTP2_GOAWAY_SESSION") return true;
    if (code === "ERR_HTTP2_STREAM_ERROR" && /REFUSED_STREAM/.test(e.message)) return true;
    if (/NGHTTP2_REFUSED_STREAM/.test(e.message)) return true;
  }
  return false;
}

/** A refused stream as the caller should see it: `unavailable` (retry elsewhere or later), plain words. */
export function refusedStreamError(err: unknown): unknown {
  if (!isRefusedStream(err)) return err;
  return new ConnectError(
    "the service refused the call: it is shutting down or restarting",
    Code.Unavailable,
    undefined,
    undefined,
    err,
  );
}

/**
 * Outermost interceptor of every service client: a refused HTTP/2 stream is `unavailable`, not
 * `internal` (docs/architecture.md, the kit's client), for unary calls and server streams alike.
 */
export function createRefusedStreamInterceptor(): Interceptor {
  return (next) => async (req) => {
    let res: Awaited<ReturnType<typeof next>>;
    try {
      res = await next(req);
    } catch (err) {
      throw refusedStreamError(err);
    }
    if (!res.stream) return res;
    const messages = res.message;
    return {
      ...res,
      message: (async function* () {
        try {
          yield* messages;
        } catch (err) {
          throw refusedStreamError(err);
        }
      })(),
    };
  };
}
