import { setMaxListeners } from "node:events";
import { Readable } from "node:stream";
import { BufferedResponse } from "./buffered-response.js";

/**
 * What the gateway's two fetches to the MCP server share (`node-http-fetch.ts` over HTTP/1.1,
 * `node-h2-fetch.ts` over HTTP/2): the request body, the caller's signal linked only while its
 * request runs, and the two shapes of answer the SDK reads.
 */

// A transport's signal is shared by all its concurrent requests, one listener each while they run:
// many is normal there, not a leak, so the default warning threshold (10) is lifted once per signal.
const sharedSignals = new WeakSet<AbortSignal>();

/** Calls `onAbort` if `signal` aborts while the request runs; returns what unlinks it. */
export function linkAbort(signal: AbortSignal | undefined, onAbort: () => void): () => void {
  if (!signal) return () => undefined;
  if (!sharedSignals.has(signal)) {
    setMaxListeners(0, signal);
    sharedSignals.add(signal);
  }
  signal.addEventListener("abort", onAbort, { once: true });
  return () => signal.removeEventListener("abort", onAbort);
}

export function requestBody(body: RequestInit["body"]): Buffer | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === "string") return Buffer.from(body);
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  throw new TypeError("the gateway's fetch sends string or byte bodies only");
}

export const isEventStream = (headers: Headers): boolean =>
  headers.get("content-type")?.includes("text/event-stream") ?? false;

/** An SSE answer, streamed as it comes. */
export function streamedAnswer(body: Readable, status: number, headers: Headers): Response {
  return new Response(Readable.toWeb(body) as ReadableStream<Uint8Array>, { status, headers });
}

/** A whole answer already read: the Response the SDK needs (status, headers, text(), json()), without a stream. */
export function bufferedAnswer(
  chunks: readonly Buffer[],
  status: number,
  method: string,
  headers: Headers,
  url: URL,
): Response {
  const noBody = status === 204 || status === 304 || method === "HEAD";
  const whole = noBody ? null : chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks);
  return new BufferedResponse(whole, status, headers, url.href) as unknown as Response;
}
