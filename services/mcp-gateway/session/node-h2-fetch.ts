import * as http2 from "node:http2";
import { untilAborted } from "#kit/retry/index.js";
import { bufferedAnswer, isEventStream, linkAbort, requestBody, streamedAnswer } from "./fetch-parts.js";

/**
 * The gateway's `fetch` to the MCP server over HTTP/2: h2c with prior knowledge on `http:` (the
 * MCP server's port serves it, docs/architecture.md "One port, three protocols"), h2 by ALPN on
 * `https:`. One session per origin carries every principal's requests as streams: measured on the
 * warm CallTool path, HTTP/1.1 out (a request object, a socket write and a response parser per
 * call, one connection per concurrent call) was 40 % of the gateway's CPU, and the gateway took
 * 0.72 ms per call over HTTP/2 against 1.16 ms over HTTP/1.1 at 16 callers (docs/performance.md,
 * "Per-call breakdown: gateway"). What the SDK reads is the same as `nodeHttpFetch`'s: a
 * `BufferedResponse` for a JSON answer, a streamed WHATWG `Response` for SSE.
 *
 * A server that does not speak HTTP/2 — its answer to the connection preface is not SETTINGS —
 * fails the first request with `Http2UnsupportedError`, before anything reached it as a request;
 * the caller then speaks HTTP/1.1 to that origin (`mcp-http-fetch.ts`).
 *
 * Failures reject like fetch: a TypeError whose `cause` carries the code the gateway's retry rules
 * read (`failure-kinds.ts`):
 * - nothing was sent — no session could be set up, or the server refused the stream (RST_STREAM
 *   REFUSED_STREAM, or a GOAWAY that left it unprocessed, RFC 9113 §8.7): ECONNREFUSED, or
 *   `UND_ERR_CONNECT_TIMEOUT` past the connect bound: safe to send again;
 * - a stream lost after it was sent — reset, or closed before its answer was whole: ECONNRESET
 *   (the server may have run it: only idempotent or keyed calls are sent again).
 * An answer is complete only when its stream closed cleanly (NO_ERROR): a truncated body is never
 * handed over as a response. A session silent to a PING for 5 s is dropped (a peer gone without a
 * word would otherwise hold every principal's calls until TCP gives up).
 */
export class Http2UnsupportedError extends Error {
  readonly code = "ERR_HTTP2_UNSUPPORTED";
}

interface Session {
  readonly session: http2.ClientHttp2Session;
  /** Resolves once the server's SETTINGS arrived; rejects when it never will. */
  ready: Promise<void>;
  settled: boolean;
}

const sessions = new Map<string, Session>();
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const PING_EVERY_MS = 15_000;
const PING_TIMEOUT_MS = 5_000;

/** Checks an open session every 15 s; one that does not answer within 5 s is destroyed. */
function keepAlive(session: http2.ClientHttp2Session): void {
  const timer = setInterval(() => {
    if (session.closed || session.destroyed) return clearInterval(timer);
    const silent = setTimeout(
      () => session.destroy(Object.assign(new Error("no answer to a PING"), { code: "ECONNRESET" })),
      PING_TIMEOUT_MS,
    );
    silent.unref();
    session.ping((err) => {
      clearTimeout(silent);
      if (err && !session.destroyed) session.destroy(err);
    });
  }, PING_EVERY_MS);
  timer.unref();
  session.once("close", () => clearInterval(timer));
}

function open(origin: string, connectTimeoutMs = DEFAULT_CONNECT_TIMEOUT_MS): Session {
  const session = http2.connect(origin);
  const entry: Session = { session, settled: false, ready: Promise.resolve() };
  entry.ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      const err = Object.assign(new Error(`no connection within ${connectTimeoutMs} ms`), {
        code: "UND_ERR_CONNECT_TIMEOUT",
      });
      session.destroy(err);
      reject(err);
    }, connectTimeoutMs);
    session.once("remoteSettings", () => {
      clearTimeout(timer);
      entry.settled = true;
      keepAlive(session);
      resolve();
    });
    const unsupported = () =>
      new Http2UnsupportedError(
        `${origin} does not speak HTTP/2${origin.startsWith("http:") ? " without TLS (h2c)" : ""}`,
      );
    const failed = (err: unknown) => {
      clearTimeout(timer);
      if (entry.settled) return;
      const code = (err as { code?: unknown } | undefined)?.code;
      // An HTTP/2 protocol error before SETTINGS: the server answered the preface with something
      // that is not HTTP/2. Anything else (refused, unreachable, TLS) is the connection's own.
      reject(typeof code === "string" && code.startsWith("ERR_HTTP2") ? unsupported() : err);
    };
    session.once("error", failed);
    // Closed without a word before its SETTINGS: what an HTTP/1.1 server does after its 400.
    session.once("close", () => failed(unsupported()));
  });
  entry.ready.catch(() => undefined);
  session.on("error", () => undefined);
  const forget = () => {
    if (sessions.get(origin) === entry) sessions.delete(origin);
  };
  // A session the server is closing (GOAWAY) takes no new streams; its running ones finish.
  session.once("goaway", forget);
  session.once("close", forget);
  session.once("error", forget);
  // Idle sessions do not keep the process alive.
  session.unref();
  sessions.set(origin, entry);
  return entry;
}

/** Headers HTTP/2 forbids (RFC 9113 §8.2.2): node refuses a request that carries them. */
const CONNECTION_HEADERS = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "host",
  "te",
  "http2-settings",
]);

type H2Init = RequestInit & { headers?: Record<string, string> };

export async function nodeH2Fetch(
  input: string | URL,
  init: H2Init = {},
  connectTimeoutMs?: number,
): Promise<Response> {
  const url = typeof input === "string" ? new URL(input) : input;
  const signal = init.signal ?? undefined;
  if (signal?.aborted) throw signal.reason;
  const entry = sessions.get(url.origin) ?? open(url.origin, connectTimeoutMs);
  if (!entry.settled) {
    try {
      // The caller may give up while the session is being set up: then nothing is sent.
      await untilAborted(entry.ready, signal);
    } catch (err) {
      if (signal?.aborted || err instanceof Http2UnsupportedError) throw err;
      throw new TypeError("fetch failed", { cause: notSent(err) });
    }
  }
  if (signal?.aborted) throw signal.reason;
  const headers: http2.OutgoingHttpHeaders = {
    ":method": init.method ?? "GET",
    ":path": `${url.pathname}${url.search}`,
  };
  for (const [name, value] of Object.entries(init.headers ?? {})) {
    const key = name.toLowerCase();
    if (!CONNECTION_HEADERS.has(key)) headers[key] = value;
  }
  const body = requestBody(init.body);
  let stream: http2.ClientHttp2Stream;
  try {
    stream = entry.session.request(headers, { endStream: body === undefined });
  } catch (err) {
    // A session that closed meanwhile, or a header node cannot send: nothing went out.
    throw new TypeError("fetch failed", { cause: notSent(err) });
  }
  stream.end(body);
  return answerOf(stream, url, init.method ?? "GET", signal);
}

/**
 * The stream's answer: a streamed `Response` for SSE, else the whole body once the stream closed
 * cleanly — `end` also follows a cancel, so a truncated body is never handed over as an answer.
 */
function answerOf(
  stream: http2.ClientHttp2Stream,
  url: URL,
  method: string,
  signal: AbortSignal | undefined,
): Promise<Response> {
  return new Promise<Response>((resolve, reject) => {
    const unlink = linkAbort(signal, () => stream.close(http2.constants.NGHTTP2_CANCEL));
    let settled = false;
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      unlink();
      reject(
        signal?.aborted
          ? signal.reason
          : new TypeError("fetch failed", { cause: streamFailure(stream, err) }),
      );
    };
    let responded = false;
    let status = 502;
    let responseHeaders = new Headers();
    const chunks: Buffer[] = [];
    // `on`, not `once`: a stream may report more than one error, and `fail` settles once.
    stream.on("error", fail);
    stream.once("close", () => {
      if (settled) return;
      if (stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR || !responded) {
        fail(new Error(`stream closed with code ${stream.rstCode}${responded ? "" : ", before its answer"}`));
        return;
      }
      settled = true;
      unlink();
      resolve(bufferedAnswer(chunks, status, method, responseHeaders, url));
    });
    stream.once("response", (received) => {
      responded = true;
      status = Number(received[":status"] ?? 502);
      responseHeaders = toHeaders(received);
      if (isEventStream(responseHeaders)) {
        settled = true;
        stream.once("close", unlink);
        resolve(streamedAnswer(stream, status, responseHeaders));
        return;
      }
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    });
  });
}

/** No session could be set up: nothing was sent (the connect bound's own code is kept). */
function notSent(err: unknown): Error {
  const code = (err as { code?: unknown } | undefined)?.code;
  return Object.assign(new Error(err instanceof Error ? err.message : String(err), { cause: err }), {
    code: code === "UND_ERR_CONNECT_TIMEOUT" ? code : "ECONNREFUSED",
  });
}

/**
 * Why a sent stream failed: refused by the server (REFUSED_STREAM, or left unprocessed by a GOAWAY,
 * RFC 9113 §8.7) — it never ran, ECONNREFUSED; anything else may have run, ECONNRESET.
 */
function streamFailure(stream: http2.ClientHttp2Stream, err: unknown): Error {
  const code = (err as { code?: unknown } | undefined)?.code;
  const refused =
    stream.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM || code === "ERR_HTTP2_GOAWAY_SESSION";
  return Object.assign(new Error(err instanceof Error ? err.message : String(err), { cause: err }), {
    code: refused ? "ECONNREFUSED" : "ECONNRESET",
  });
}

function toHeaders(received: http2.IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(received)) {
    if (name.startsWith(":") || value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else headers.append(name, String(value));
  }
  return headers;
}

/** Closes every session (tests; a process that ends closes them with it). */
export function closeH2Sessions(): void {
  for (const { session } of sessions.values()) session.close();
  sessions.clear();
}
