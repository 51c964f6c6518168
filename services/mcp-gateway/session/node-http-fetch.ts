import { keepAlivePool, keepAliveRequest } from "#kit/http/index.js";
import { bufferedAnswer, isEventStream, linkAbort, requestBody, streamedAnswer } from "./fetch-parts.js";

/**
 * The `fetch` the gateway's MCP transports use: node:http with keep-alive instead of the global
 * (undici) fetch. Measured on the warm CallTool path, undici's fetch was 38% of the gateway's CPU —
 * WHATWG Request/Headers/stream objects, and an abort listener left on the transport's long-lived
 * signal per request until garbage collection (undici copies that list on every request). The
 * gateway sends small JSON bodies and reads small JSON answers or one SSE stream; for that a plain
 * request is enough:
 * - JSON (and empty) answers are read whole, then handed over as a `BufferedResponse` (no body
 *   stream to build and read back);
 * - headers given as a plain object are copied with their names lower-cased (no WHATWG Headers
 *   round trip);
 * - an SSE answer (`text/event-stream`) is streamed and stays abortable until it ends;
 * - the caller's signal is linked only while its request runs;
 * - failures reject like fetch: a TypeError whose `cause` is the socket error (ECONNREFUSED, …);
 * - `connectTimeoutMs` bounds connecting only (a new socket): past it the request fails as
 *   undici's does (`UND_ERR_CONNECT_TIMEOUT`). Waiting for the answer is the caller's to bound
 *   (docs/mcp-gateway.md, "Deadlines").
 */
const pool = keepAlivePool(256);

export function nodeHttpFetch(
  input: string | URL,
  init: RequestInit = {},
  connectTimeoutMs?: number,
): Promise<Response> {
  const url = typeof input === "string" ? new URL(input) : input;
  const signal = init.signal ?? undefined;
  if (signal?.aborted) return Promise.reject(signal.reason);
  const body = requestBody(init.body);
  const headers = headerRecord(init.headers);
  if (body !== undefined) headers["content-length"] = String(body.byteLength);

  let opened: ReturnType<typeof keepAliveRequest>;
  try {
    opened = keepAliveRequest(pool, url, {
      method: init.method ?? "GET",
      headers,
      connectTimeoutMs,
      // As undici's fetch fails a connect timeout.
      connectTimeout: (ms) =>
        Object.assign(new Error(`no connection within ${ms} ms`), { code: "UND_ERR_CONNECT_TIMEOUT" }),
    });
  } catch (err) {
    // node:http throws at once on a header value or method it cannot send: rejected, as fetch does.
    return Promise.reject(new TypeError("fetch failed", { cause: err }));
  }
  if (opened === undefined) return Promise.reject(new TypeError(`unsupported protocol ${url.protocol}`));
  const { req } = opened;
  return new Promise<Response>((resolve, reject) => {
    const unlink = linkAbort(signal, () =>
      req.destroy(signal?.reason instanceof Error ? signal.reason : new Error("aborted")),
    );
    req.once("error", (err) => {
      unlink();
      reject(signal?.aborted ? signal.reason : new TypeError("fetch failed", { cause: err }));
    });
    req.once("response", (res) => {
      const status = res.statusCode ?? 502;
      const responseHeaders = toHeaders(res.rawHeaders);
      if (isEventStream(responseHeaders)) {
        res.once("close", unlink);
        resolve(streamedAnswer(res, status, responseHeaders));
        return;
      }
      const chunks: Buffer[] = [];
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.once("error", (err) => {
        unlink();
        reject(new TypeError("fetch failed", { cause: err }));
      });
      res.once("end", () => {
        unlink();
        resolve(bufferedAnswer(chunks, status, init.method ?? "GET", responseHeaders, url));
      });
    });
    req.end(body);
  });
}

/** The request's headers as the plain object node:http takes, names lower-cased as Headers would. */
function headerRecord(init: RequestInit["headers"]): Record<string, string> {
  const headers: Record<string, string> = {};
  if (init && !(init instanceof Headers) && !Array.isArray(init)) {
    for (const [key, value] of Object.entries(init as Record<string, string>))
      headers[key.toLowerCase()] = value;
    return headers;
  }
  new Headers(init).forEach((value, key) => {
    headers[key] = value;
  });
  return headers;
}

function toHeaders(raw: readonly string[]): Headers {
  const headers = new Headers();
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i] as string, raw[i + 1] as string);
  return headers;
}
