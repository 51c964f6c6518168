import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import { closeWhenIdle } from "./h2-idle-timeout.js";
import { endIncompleteRequests } from "./h2-request-timeout.js";

type NodeHandler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

// Every HTTP/2 cleartext connection (prior knowledge) opens with this preface (RFC 9113 §3.4).
const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/** HTTP/2 sessions with no open stream for this long are closed (GOAWAY). */
const DEFAULT_H2_IDLE_TIMEOUT_MS = 120_000;
/** An HTTP/2 request body not complete this long after its stream opened is reset. */
const DEFAULT_H2_REQUEST_TIMEOUT_MS = 30_000;

export interface OnePortListenerOptions {
  /** Closes an HTTP/2 session after this long without an open stream. */
  readonly h2IdleTimeoutMs?: number;
  /** Resets an HTTP/2 stream whose request body is not complete this long after it opened. */
  readonly h2RequestTimeoutMs?: number;
}

export interface OnePortListener {
  readonly port: number;
  readonly host: string;
  /** Stops accepting, lets in-flight requests finish for up to `graceMs`, then drops the rest. */
  close(graceMs: number): Promise<void>;
}

/**
 * Serves one handler over HTTP/1.1 and h2c on one cleartext port. Node's `http2` server does not
 * speak cleartext HTTP/1.1 and browsers and k6 cannot speak h2c, so the first bytes of each
 * connection are sniffed for the HTTP/2 preface and the socket is handed to the matching server.
 */
export async function listenOnePort(
  host: string,
  port: number,
  handler: NodeHandler,
  options: OnePortListenerOptions = {},
): Promise<OnePortListener> {
  const h2IdleTimeoutMs = options.h2IdleTimeoutMs ?? DEFAULT_H2_IDLE_TIMEOUT_MS;
  const h1 = http.createServer({ keepAliveTimeout: 65_000 }, handler);
  // Node refuses every new stream of a session (ENHANCE_YOUR_CALM) once its buffered frames pass
  // maxSessionMemory (10 MB by default): a thousand turns' streams on one peer's connection did
  // (docs/performance.md, "The chain at 1,000 users"). It is a bound, not an allocation.
  const h2 = http2.createServer({ maxSessionMemory: 64 }, handler);
  // Neither server listens itself; Node starts tracking HTTP/1.1 connections (idle-close on
  // shutdown, headersTimeout and requestTimeout against slow clients) on "listening".
  h1.emit("listening");
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.Http2Session>();
  h2.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
    closeWhenIdle(session, h2IdleTimeoutMs);
    endIncompleteRequests(session, options.h2RequestTimeoutMs ?? DEFAULT_H2_REQUEST_TIMEOUT_MS);
  });

  const front = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    // A reset before the socket is handed over would otherwise be an unhandled 'error' (a crash).
    socket.on("error", () => socket.destroy());
    // A client that connects and sends nothing (or only part of the preface) must not hold a
    // socket forever.
    socket.setTimeout(30_000, () => socket.destroy());
    whenProtocolKnown(socket, (isH2) => {
      socket.setTimeout(0);
      (isH2 ? h2 : h1).emit("connection", socket);
    });
  });

  await new Promise<void>((resolve, reject) => {
    front.once("error", reject);
    front.listen(port, host, () => {
      front.off("error", reject);
      resolve();
    });
  });
  const address = front.address() as net.AddressInfo;

  return {
    port: address.port,
    host,
    async close(graceMs) {
      const closed = new Promise<void>((resolve) => front.close(() => resolve()));
      h1.close();
      h1.closeIdleConnections();
      for (const session of sessions) session.close(); // GOAWAY: finish open streams, accept no new ones
      const deadline = setTimeout(() => {
        for (const session of sessions) session.destroy();
        for (const socket of sockets) socket.destroy();
      }, graceMs);
      deadline.unref();
      // Idle keep-alive HTTP/1.1 sockets that wake up later are closed after their response.
      const poll = setInterval(() => h1.closeIdleConnections(), 50);
      await closed;
      clearInterval(poll);
      clearTimeout(deadline);
    },
  };
}

/**
 * Reads until the bytes seen so far either differ from the HTTP/2 preface or hold all of it, puts
 * them back and reports which protocol the connection speaks. A first segment that is a strict
 * prefix of the preface (the "P" of a POST the client split) decides nothing, so it waits for more
 * (under the connection's timer). A connection that ends before that is dropped.
 */
function whenProtocolKnown(socket: net.Socket, decided: (isH2: boolean) => void): void {
  let head = Buffer.alloc(0);
  const onEnd = () => socket.destroy();
  const onReadable = () => {
    let chunk = socket.read() as Buffer | null;
    while (chunk !== null) {
      head = Buffer.concat([head, chunk]);
      chunk = socket.read() as Buffer | null;
    }
    const n = Math.min(head.length, PREFACE.length);
    const matchesSoFar = head.subarray(0, n).equals(PREFACE.subarray(0, n));
    if (matchesSoFar && n < PREFACE.length) return;
    socket.off("readable", onReadable);
    socket.off("end", onEnd);
    socket.unshift(head);
    decided(matchesSoFar);
  };
  socket.on("readable", onReadable);
  socket.on("end", onEnd);
}
