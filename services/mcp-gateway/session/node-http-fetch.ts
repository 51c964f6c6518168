import { setMaxListeners } from "node:events";
import { Readable } from "node:stream";
import { keepAlivePool, keepAliveRequest } from "#kit/http/index.js";
import { BufferedResponse } from "./buffered-response.js";

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

// A transport's signal is shared by all its concurrent requests, one listener each while they run:
// many is normal there, not a leak, so the default warning threshold (10) is lifted once per signal.
const sharedSignals = new WeakSet<AbortSignal>();

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
    const onAbort = () => req.destroy(signal?.reason instanceof Error ? signal.reason : new Error("aborted"));
    const unlink = () => signal?.removeEventListener("abort", onAbort);
    if (signal && !sharedSignals.has(signal)) {
      setMaxListeners(0, signal);
      sharedSignals.add(signal);
    }
    signal?.addEventListener("abort", onAbort, { once: true });

    req.once("error", (err) => {
      unlink();
      reject(signal?.aborted ? signal.reason : new TypeError("fetch failed", { cause: err }));
    });
    req.once("response", (res) => {
      const status = res.statusCode ?? 502;
      const responseHeaders = toHeaders(res.rawHeaders);
      if (responseHeaders.get("content-type")?.includes("text/event-stream")) {
        res.once("close", unlink);
        resolve(
          new Response(Readable.toWeb(res) as ReadableStream<Uint8Array>, {
            status,
            headers: responseHeaders,
          }),
        );
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
        const noBody = status === 204 || status === 304 || (init.method ?? "GET") === "HEAD";
        const whole = noBody ? null : chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
        // The SDK reads status, headers, text() and json() of these: the Response it needs, without the stream.
        resolve(new BufferedResponse(whole, status, responseHeaders, url.href) as unknown as Response);
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

function requestBody(body: RequestInit["body"]): Buffer | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === "string") return Buffer.from(body);
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw new TypeError("nodeHttpFetch sends string or byte bodies only");
}

function toHeaders(raw: readonly string[]): Headers {
  const headers = new Headers();
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i] as string, raw[i + 1] as string);
  return headers;
}
