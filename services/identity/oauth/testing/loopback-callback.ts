import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A native MCP client's redirect URI (RFC 8252 §7.3): a real HTTP server on 127.0.0.1 and a free
 * port, where the browser lands after the login page with `code` (or `error`), `state` and `iss`.
 */
export interface LoopbackCallback {
  readonly redirectUri: string;
  /**
   * The query of the next request to the callback path, in arrival order. Rejects, saying so, when
   * none arrives within `timeoutMs` (the browser stopped somewhere else): a test fails with that
   * instead of waiting out its own timeout.
   */
  next(timeoutMs?: number): Promise<URLSearchParams>;
  close(): Promise<void>;
}

const PATH = "/callback";
/** Generous for a busy 2-core machine: a login page and its redirects take seconds at most. */
const NEXT_TIMEOUT_MS = 60_000;

export async function startLoopbackCallback(): Promise<LoopbackCallback> {
  const arrived: URLSearchParams[] = [];
  const waiting: ((params: URLSearchParams) => void)[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    if (req.method !== "GET" || url.pathname !== PATH) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" });
    res.end("<!doctype html><title>Signed in</title><p>You can close this window.</p>");
    const take = waiting.shift();
    if (take) take(url.searchParams);
    else arrived.push(url.searchParams);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    redirectUri: `http://127.0.0.1:${(server.address() as AddressInfo).port}${PATH}`,
    next(timeoutMs = NEXT_TIMEOUT_MS) {
      const ready = arrived.shift();
      if (ready) return Promise.resolve(ready);
      return new Promise((resolve, reject) => {
        const take = (params: URLSearchParams) => {
          clearTimeout(timer);
          resolve(params);
        };
        const timer = setTimeout(() => {
          waiting.splice(waiting.indexOf(take), 1);
          reject(new Error(`no request reached the loopback callback within ${timeoutMs} ms`));
        }, timeoutMs);
        waiting.push(take);
      });
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
