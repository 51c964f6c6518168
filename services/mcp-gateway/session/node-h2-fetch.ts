import { setMaxListeners } from "node:events";
import * as http2 from "node:http2";
import { Readable } from "node:stream";
import { BufferedResponse } from "./buffered-response.js";

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
 * read (`failure-kinds.ts`): the socket's own (ECONNREFUSED, …), `UND_ERR_CONNECT_TIMEOUT` past
 * the connect bound, and ECONNRESET for a stream lost after it was sent (the server may have run
 * it: only idempotent or keyed calls are sent again).
 */
export class Http2UnsupportedError extends Error {
  readonly code = "ERR_HTTP2_UNSUPPORTED";
}

interface Session {
  readonly session: http2.ClientHttp2Session;
  /** Resolves once the server's SETTINGS arrived; rejects when it never will. */
  readonly ready: Promise<void>;
  settled: boolean;
}

const sessions = new Map<string, Session>();

function open(origin: string, connectTimeoutMs: number | undefined): Session {
  const session = http2.connect(origin);
  const entry: Session = {
    session,
    settled: false,
    ready: new Promise<void>((resolve, reject) => {
      const timer =
        connectTimeoutMs === undefined
          ? undefined
          : setTimeout(() => {
              const err = Object.assign(new Error(`no connection within ${connectTimeoutMs} ms`), {
                code: "UND_ERR_CONNECT_TIMEOUT",
              });
              session.destroy(err);
              reject(err);
            }, connectTimeoutMs);
      session.once("remoteSettings", () => {
        clearTimeout(timer);
        entry.settled = true;
        resolve();
      });
      const failed = (err: unknown) => {
        clearTimeout(timer);
        if (entry.settled) return;
        const code = (err as { code?: unknown } | undefined)?.code;
        // Refused or unreachable: the socket's own error. Anything else before SETTINGS: the
        // server answered the preface with something that is not HTTP/2.
        reject(
          typeof code === "string" && /^E[A-Z]+$/.test(code)
            ? err
            : new Http2UnsupportedError(
                `${origin} does not speak HTTP/2${origin.startsWith("http:") ? " without TLS (h2c)" : ""}`,
              ),
        );
      };
      session.once("error", failed);
      session.once("close", () => failed(new Error("closed before its settings")));
    }),
  };
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

// A transport's signal is shared by all its concurrent requests, one listener each while they run.
const sharedSignals = new WeakSet<AbortSignal>();

/** Headers HTTP/2 forbids (RFC 9113 §8.2.2): node refuses a request that carries them. */
const CONNECTION_HEADERS = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "host",
]);

export async function nodeH2Fetch(
  input: string | URL,
  init: RequestInit & { headers?: Record<string, string> } = {},
  connectTimeoutMs?: number,
): Promise<Response> {
  const url = typeof input === "string" ? new URL(input) : input;
  const signal = init.signal ?? undefined;
  if (signal?.aborted) throw signal.reason;
  const entry = sessions.get(url.origin) ?? open(url.origin, connectTimeoutMs);
  if (!entry.settled) {
    try {
      await entry.ready;
    } catch (err) {
      if (err instanceof Http2UnsupportedError) throw err;
      throw new TypeError("fetch failed", { cause: err });
    }
  }
  const headers: http2.OutgoingHttpHeaders = {
    ":method": init.method ?? "GET",
    ":path": `${url.pathname}${url.search}`,
  };
  for (const [name, value] of Object.entries(init.headers ?? {})) {
    const key = name.toLowerCase();
    if (!CONNECTION_HEADERS.has(key)) headers[key] = value;
  }
  const body = requestBody(init.body);
  return new Promise<Response>((resolve, reject) => {
    let stream: http2.ClientHttp2Stream;
    try {
      stream = entry.session.request(headers, { endStream: body === undefined });
    } catch (err) {
      // A session that closed meanwhile, or a header node cannot send: rejected, as fetch does.
      reject(new TypeError("fetch failed", { cause: lostStream(err) }));
      return;
    }
    const onAbort = () => stream.close(http2.constants.NGHTTP2_CANCEL);
    const unlink = () => signal?.removeEventListener("abort", onAbort);
    if (signal && !sharedSignals.has(signal)) {
      setMaxListeners(0, signal);
      sharedSignals.add(signal);
    }
    signal?.addEventListener("abort", onAbort, { once: true });
    let answered = false;
    const fail = (err: unknown) => {
      unlink();
      reject(signal?.aborted ? signal.reason : new TypeError("fetch failed", { cause: lostStream(err) }));
    };
    stream.once("error", fail);
    // Closed without an answer (reset by the server, or its session went away).
    stream.once("close", () => {
      if (!answered) fail(new Error(`stream closed with code ${stream.rstCode}`));
    });
    stream.once("response", (received) => {
      answered = true;
      const status = Number(received[":status"] ?? 502);
      const responseHeaders = toHeaders(received);
      if (responseHeaders.get("content-type")?.includes("text/event-stream")) {
        stream.once("close", unlink);
        resolve(
          new Response(Readable.toWeb(stream) as ReadableStream<Uint8Array>, {
            status,
            headers: responseHeaders,
          }),
        );
        return;
      }
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.once("end", () => {
        unlink();
        const noBody = status === 204 || status === 304 || (init.method ?? "GET") === "HEAD";
        const whole = noBody ? null : chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
        resolve(new BufferedResponse(whole, status, responseHeaders, url.href) as unknown as Response);
      });
    });
    stream.end(body);
  });
}

/** A stream lost after it was sent: the server may have run it (ECONNRESET, as a reset socket). */
function lostStream(err: unknown): Error {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === "string" && /^E[A-Z]+$/.test(code)) return err as Error;
  return Object.assign(new Error(err instanceof Error ? err.message : String(err), { cause: err }), {
    code: "ECONNRESET",
  });
}

function requestBody(body: RequestInit["body"]): Buffer | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === "string") return Buffer.from(body);
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw new TypeError("nodeH2Fetch sends string or byte bodies only");
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
