import type * as http2 from "node:http2";

/** How long a GOAWAY'd session may take to wind down before its socket is dropped. */
const GOAWAY_GRACE_MS = 5_000;

/**
 * Closes an HTTP/2 session once it has had no open stream for `idleMs` (grpc-go's
 * MaxConnectionIdle): GOAWAY first, so a client knows its next call needs a new connection, then
 * the socket. A client that sends the preface and then nothing would otherwise hold its socket for
 * ever. Idle means no streams, not no bytes: a quiet but open stream (a health Watch, a long
 * server stream) keeps its session, and pings alone do not.
 */
export function closeWhenIdle(session: http2.ServerHttp2Session, idleMs: number): void {
  let open = 0;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    timer = setTimeout(() => {
      session.close();
      setTimeout(() => session.destroy(), GOAWAY_GRACE_MS).unref();
    }, idleMs);
    timer.unref(); // the socket keeps the process alive, not this timer
  };
  session.on("stream", (stream: http2.ServerHttp2Stream) => {
    open++;
    clearTimeout(timer);
    stream.once("close", () => {
      open--;
      if (open === 0 && !session.closed && !session.destroyed) arm();
    });
  });
  session.once("close", () => clearTimeout(timer));
  arm();
}
