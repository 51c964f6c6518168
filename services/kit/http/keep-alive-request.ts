import * as http from "node:http";
import * as https from "node:https";

/**
 * Outgoing HTTP over node:http(s) with kept-alive sockets, where not connecting is told apart from
 * waiting for an answer (docs/mcp-gateway.md, "Deadlines"): the global (undici) fetch has one timeout
 * for both, and costs WHATWG objects per request on hot paths. The one implementation under the
 * token endpoint's form POST (`kit/auth/token-http.ts`) and the gateway's MCP fetch.
 */
export interface KeepAlivePool {
  readonly "http:": http.Agent;
  readonly "https:": https.Agent;
}

/** Sockets kept for reuse, at most `maxSockets` per origin: more requests queue for a free one. */
export function keepAlivePool(maxSockets: number): KeepAlivePool {
  return {
    "http:": new http.Agent({ keepAlive: true, maxSockets }),
    "https:": new https.Agent({ keepAlive: true, maxSockets }),
  };
}

export interface KeepAliveRequestOptions {
  readonly method: string;
  readonly headers: http.OutgoingHttpHeaders;
  /** How long a new socket may take to connect; a reused one is connected already. No bound if absent. */
  readonly connectTimeoutMs?: number | undefined;
  /** What the request is destroyed with when it did not connect in time. */
  readonly connectTimeout?: (ms: number) => Error;
}

export interface KeepAliveRequest {
  readonly req: http.ClientRequest;
  /** Whether the request's socket is connected (a reused one, or a new one that connected). */
  readonly connected: () => boolean;
}

/** The request, on `pool`'s socket for the URL's protocol; undefined for a protocol other than http(s). */
export function keepAliveRequest(
  pool: KeepAlivePool,
  url: URL,
  options: KeepAliveRequestOptions,
): KeepAliveRequest | undefined {
  const agent = url.protocol === "http:" || url.protocol === "https:" ? pool[url.protocol] : undefined;
  if (agent === undefined) return undefined;
  const send = url.protocol === "https:" ? https.request : http.request;
  const req = send(url, { method: options.method, headers: options.headers, agent });
  let connected = false;
  req.once("socket", (socket) => {
    if (!socket.connecting) {
      connected = true;
      return;
    }
    const { connectTimeoutMs } = options;
    const bound =
      connectTimeoutMs === undefined
        ? undefined
        : setTimeout(
            () =>
              req.destroy(
                options.connectTimeout?.(connectTimeoutMs) ??
                  new Error(`no connection within ${connectTimeoutMs} ms`),
              ),
            connectTimeoutMs,
          );
    socket.once("connect", () => {
      connected = true;
      clearTimeout(bound);
    });
    socket.once("close", () => clearTimeout(bound));
  });
  return { req, connected: () => connected };
}
