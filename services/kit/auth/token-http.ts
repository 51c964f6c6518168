import { keepAlivePool, keepAliveRequest } from "../http/keep-alive-request.js";

const MAX_RESPONSE_BYTES = 64 * 1024;

/**
 * One form POST to a token endpoint over node:http(s) with keep-alive, where the two ways of not
 * getting an answer are told apart (docs/mcp-gateway.md, "Deadlines"):
 * - **can't connect** — refused, reset before the request went out, DNS, no route, or no connection
 *   within `connectTimeoutMs`: the endpoint is down. Rejected at once as `TokenHttpFailure` "connect";
 * - **slow to answer** — connected, the request sent, no answer yet: a busy identity provider is
 *   waited for until `timeoutMs` (the caller's deadline) or `signal`, then "timeout" / "cancelled".
 * The global fetch has no separate bound on connecting, so one fixed timeout stood for both.
 */
export class TokenHttpFailure extends Error {
  override readonly name = "TokenHttpFailure";
  constructor(
    readonly kind: "connect" | "lost" | "timeout" | "cancelled",
    message: string,
  ) {
    super(message);
  }
}

export interface TokenHttpOptions {
  readonly headers: Record<string, string>;
  readonly body: string;
  /** How long establishing a new connection may take. */
  readonly connectTimeoutMs: number;
  /** How long the whole exchange may take, waiting for the answer included: the caller's deadline. */
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
}

export interface TokenHttpAnswer {
  readonly status: number;
  readonly body: string;
}

// Sockets are reused across requests; many concurrent exchanges queue here rather than open
// thousands of connections to the identity provider (the queue is waiting, bounded by the deadline).
const pool = keepAlivePool(64);

/** Socket errors meaning nothing answers there (a real outage), as opposed to a slow answer. */
const CONNECT_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);

export async function postForm(endpoint: string, options: TokenHttpOptions): Promise<TokenHttpAnswer> {
  const started = Date.now();
  try {
    return await postOnce(endpoint, options, options.timeoutMs);
  } catch (err) {
    // A kept-alive socket the server closed just as it was reused: the request never reached it.
    if (!(err instanceof StaleSocket)) throw err;
    return postOnce(endpoint, options, options.timeoutMs - (Date.now() - started));
  }
}

class StaleSocket extends Error {}

function postOnce(endpoint: string, options: TokenHttpOptions, timeoutMs: number): Promise<TokenHttpAnswer> {
  const url = new URL(endpoint);
  if (options.signal?.aborted) return Promise.reject(new TokenHttpFailure("cancelled", "cancelled"));
  const body = Buffer.from(options.body);
  return new Promise<TokenHttpAnswer>((resolve, reject) => {
    const opened = keepAliveRequest(pool, url, {
      method: "POST",
      headers: { ...options.headers, "content-length": String(body.byteLength) },
      connectTimeoutMs: options.connectTimeoutMs,
      connectTimeout: (ms) => new TokenHttpFailure("connect", `no connection within ${ms} ms`),
    });
    if (opened === undefined) {
      reject(new TokenHttpFailure("connect", `unsupported protocol ${url.protocol}`));
      return;
    }
    const { req, connected } = opened;
    let failure: Error | undefined;
    const fail = (err: Error) => {
      failure ??= err;
      req.destroy(err);
    };
    const deadline = setTimeout(
      () => fail(new TokenHttpFailure("timeout", `no answer within ${Math.max(0, timeoutMs)} ms`)),
      Math.max(0, timeoutMs),
    );
    const onAbort = () => fail(new TokenHttpFailure("cancelled", "cancelled"));
    options.signal?.addEventListener("abort", onAbort, { once: true });
    const done = () => {
      clearTimeout(deadline);
      options.signal?.removeEventListener("abort", onAbort);
    };
    req.once("error", (err: NodeJS.ErrnoException) => {
      done();
      reject(classify(failure ?? err, connected(), req.reusedSocket));
    });
    req.once("response", (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        // A token response is a few KiB; more is not a token endpoint speaking, and is not kept.
        if (size > MAX_RESPONSE_BYTES) {
          fail(new TokenHttpFailure("lost", `answer larger than ${MAX_RESPONSE_BYTES} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.once("error", (err) => {
        done();
        reject(classify(failure ?? err, true, false));
      });
      res.once("end", () => {
        done();
        resolve({ status: res.statusCode ?? 502, body: Buffer.concat(chunks).toString("utf8") });
      });
    });
    req.end(body);
  });
}

function classify(err: Error, connected: boolean, reused: boolean): Error {
  if (err instanceof TokenHttpFailure) return err;
  const code = (err as NodeJS.ErrnoException).code ?? "";
  // A kept-alive socket the server had already closed: the request never reached it.
  if (reused && (code === "ECONNRESET" || code === "EPIPE")) return new StaleSocket();
  if (!connected || CONNECT_CODES.has(code)) {
    return new TokenHttpFailure("connect", code ? describeCode(code) : err.message);
  }
  // Connected, then the connection went away before the answer: the server died mid-request.
  return new TokenHttpFailure("lost", `connection lost before the answer (${code || err.message})`);
}

function describeCode(code: string): string {
  switch (code) {
    case "ECONNREFUSED":
      return "connection refused (ECONNREFUSED)";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return `host name not resolved (${code})`;
    default:
      return code;
  }
}
