import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A native MCP client's redirect URI (RFC 8252 §7.3): a real HTTP server on 127.0.0.1 and a free
 * port, where the browser lands after the login page with `code` (or `error`), `state` and `iss`.
 */
export interface LoopbackCallback {
  readonly redirectUri: string;
  /** The query of the next request to the callback path, in arrival order. */
  next(): Promise<URLSearchParams>;
  close(): Promise<void>;
}

const PATH = "/callback";

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
    next() {
      const ready = arrived.shift();
      return ready ? Promise.resolve(ready) : new Promise((resolve) => waiting.push(resolve));
    },
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
