import { setMaxListeners } from "node:events";

const linkedSignals = new WeakSet<AbortSignal>();

/**
 * fetch() with the transport's long-lived abort signal linked per request and unlinked as soon as
 * the request is over. Passing that signal straight to fetch leaves one undici listener on it per
 * request until garbage collection, and undici copies the whole listener list on every request:
 * measured, 413 listeners after 410 calls, and a per-call cost that grows with the session's age.
 */
export async function fetchDetached(url: string | URL, init: RequestInit): Promise<Response> {
  const outer = init.signal;
  if (!outer) return fetch(url, init);
  // One link per concurrent request of this session: many is normal, not a leak.
  if (!linkedSignals.has(outer)) {
    setMaxListeners(0, outer);
    linkedSignals.add(outer);
  }
  const inner = new AbortController();
  const forward = () => inner.abort(outer.reason);
  if (outer.aborted) forward();
  else outer.addEventListener("abort", forward, { once: true });
  const detach = () => outer.removeEventListener("abort", forward);
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: inner.signal });
  } catch (err) {
    detach();
    throw err;
  }
  // A JSON answer is read at once; an SSE stream stays abortable until it ends.
  if (!res.body || !res.headers.get("content-type")?.includes("text/event-stream")) {
    detach();
    return res;
  }
  const body = res.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      flush: detach,
    }),
  );
  inner.signal.addEventListener("abort", detach, { once: true });
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
}
