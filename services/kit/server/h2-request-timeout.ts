import * as http2 from "node:http2";

/**
 * Resets each HTTP/2 stream whose request body is not complete `timeoutMs` after the stream
 * opened (RST_STREAM CANCEL): the h2 counterpart of Node's HTTP/1.1 `requestTimeout`, which h2
 * streams do not get. Without it a client that opens streams and never ends them holds each one,
 * and its handler, for as long as the connection lives (a load test once saw 1,000 held for 202 s).
 * Only the request side is bounded: once the client has sent END_STREAM, a long answer (a server
 * stream, a health Watch) runs as long as it needs (docs/architecture.md, the kit's server).
 */
export function endIncompleteRequests(session: http2.ServerHttp2Session, timeoutMs: number): void {
  session.on("stream", (stream: http2.ServerHttp2Stream, _headers, flags: number) => {
    if ((flags & http2.constants.NGHTTP2_FLAG_END_STREAM) !== 0) return; // no body at all
    const timer = setTimeout(() => {
      if (stream.closed || stream.destroyed) return;
      // remoteClose: the client has half-closed its side, i.e. sent the whole body.
      if (stream.state.remoteClose) return;
      stream.close(http2.constants.NGHTTP2_CANCEL);
    }, timeoutMs);
    timer.unref(); // the socket keeps the process alive, not this timer
    stream.once("close", () => clearTimeout(timer));
  });
}
