import {
  type CallToolResult,
  type Client,
  type InputRequiredResult,
  SdkHttpError,
  type StreamableHTTPClientTransport,
  type Tool,
  TRACEPARENT_META_KEY,
} from "@modelcontextprotocol/client";
import type { Logger } from "#kit/log/index.js";
import { IDEMPOTENCY_META_KEY, outgoingCallHeaders } from "#kit/propagation/index.js";
import { backoffDelayMs, REFUSED_CONNECTION_BACKOFF, sleep } from "#kit/retry/index.js";
import { mcpClientRequest } from "../telemetry.js";
import type { McpTokenSource, TokenSubject } from "../token/mcp-token-source.js";
import { authorizedFetch } from "./authorized-fetch.js";
import { remainingMs, withDeadline } from "./call-deadline.js";
import { askedWithoutAnswer, type CallQuestions, questionsOf } from "./call-questions.js";
import {
  describe,
  isInvalidRequestState,
  isRetryable,
  isStaleEra,
  neverReachedServer,
} from "./failure-kinds.js";
import type { McpHttpVersion } from "./mcp-http-fetch.js";
import { type OpenedClient, openMcpClient } from "./open-client.js";
import type { ServerEra, VersionPolicy } from "./server-era.js";

export interface McpSessionOptions {
  readonly url: URL;
  readonly tokenSource: McpTokenSource;
  readonly logger: Logger;
  /**
   * Bound on connecting to the MCP server (a new TCP connection; `MCP_CONNECT_TIMEOUT`). Only
   * connecting: a connected server that is slow to answer is waited for within the call's deadline.
   */
  readonly connectTimeoutMs: number;
  /** HTTP/2 when the server speaks it, or HTTP/1.1 only (`MCP_HTTP_VERSION`, `mcp-http-fetch.ts`). */
  readonly httpVersion: McpHttpVersion;
  /** The deadline of a call whose caller sent none (`MCP_CALL_TIMEOUT`). */
  readonly callTimeoutMs: number;
  readonly clientVersion: string;
  /** Which revision to speak (MCP_PROTOCOL_VERSION). */
  readonly policy: VersionPolicy;
  /** What the server speaks, learned once and shared by every principal's client. */
  readonly era: ServerEra;
}

/** What a retry decision needs to know about a call. */
export interface CallOptions {
  readonly signal?: AbortSignal;
  /**
   * What is left of the caller's deadline (docs/mcp-gateway.md, "Deadlines"); `callTimeoutMs` when
   * the caller sent none. The token exchange, connecting and every request of the call wait within it.
   */
  readonly timeoutMs?: number | undefined;
  /** The tool has no side effects (or is idempotent): an ambiguous transport failure may be retried. */
  readonly idempotent: boolean;
  /**
   * The call's idempotency key (docs/mcp-server.md, "Idempotency keys"), sent in `_meta`. The MCP
   * server answers a repeat of it with the first call's result, so a write whose connection was
   * lost (reset, closed, timed out) is sent again once with the same key.
   */
  readonly idempotencyKey?: string;
}

/** A tools/call: its arguments, and the user's answers when it is sent again after a question. */
export interface ToolCallOptions extends CallOptions {
  /** MCP InputResponses, keyed like the questions they answer (docs/mcp-gateway.md, "Questions to the user"). */
  readonly inputResponses?: Record<string, unknown>;
  /** The `requestState` of the `input_required` answered, echoed byte for byte. */
  readonly requestState?: string;
}

/** A principal's tools, and until when (epoch ms) they may be reused; not past now when never. */
export interface ListedTools {
  readonly tools: readonly Tool[];
  readonly freshUntil: number;
}

/**
 * The longest a tool list is reused, whatever `ttlMs` the server gives: an agent's allow-list or a
 * tool changed by an operator shows within this. The MCP server authorizes every call regardless.
 */
const MAX_LIST_REUSE_MS = 5 * 60_000;

/** How long a list the server gave `ttlMs` may be reused: whole milliseconds, at most MAX_LIST_REUSE_MS. */
export function listReuseMs(ttlMs: unknown): number {
  if (typeof ttlMs !== "number" || !(ttlMs > 0)) return 0;
  return Math.floor(Math.min(ttlMs, MAX_LIST_REUSE_MS));
}

/** In the same order too: a token's scopes come in one order, and a false "changed" only asks again. */
function sameScopes(a: readonly string[], b: readonly string[]): boolean {
  return a === b || (a.length === b.length && a.every((scope, i) => scope === b[i]));
}

/** One connected MCP client; replaced (not closed under running calls) when the server forgets it. */
interface Connection {
  readonly client: Client;
  /** Connected by adopting the shared era verdict rather than by its own probe. */
  readonly adopted: boolean;
  inFlight: number;
  retired: boolean;
}

/**
 * One MCP client for one principal (user login session × agent). Its transport's fetch puts that
 * principal's current MCP token on every HTTP request the SDK makes: the token lives in this
 * client only, so no other principal's request can ever carry it. On 2026-07-28 the client holds
 * no session on the server (every request stands alone; connecting adopts the shared discover
 * result with no round trip); on the 2025 family it is an MCP session, re-initialized once when
 * the server has forgotten it (404 on the session id, e.g. after a restart).
 */
export class McpSession {
  private current: Connection | undefined;
  private connecting: Promise<Connection> | undefined;
  private subject: TokenSubject;
  /** The last tool list, while it may be reused. */
  private listed: ListedTools | undefined;
  /** Moved on by `forgetTools`: a list asked for across a move is not held. */
  private listGeneration = 0;
  private inFlight = 0;
  lastUsed = Date.now();

  constructor(
    readonly key: string,
    subject: TokenSubject,
    private readonly options: McpSessionOptions,
  ) {
    this.subject = subject;
  }

  get busy(): boolean {
    return this.inFlight > 0;
  }

  /** The owner's latest credential (e.g. after a refresh); same principal, by construction of the key. */
  updateSubject(subject: TokenSubject): void {
    if (!sameScopes(subject.scopes, this.subject.scopes)) this.forgetTools();
    this.subject = subject;
  }

  /**
   * Lets the held tool list go, and any list being asked for now is not held when it comes: the
   * next `listTools` asks the server. On a new connection, new scopes, and a call the server
   * refused that the list offered (an allow-list or scope changed meanwhile).
   */
  forgetTools(): void {
    this.listed = undefined;
    this.listGeneration++;
  }

  /**
   * The principal's tools, and until when they may be reused. On 2026-07-28 the server gives its
   * list a `ttlMs` (`cacheScope: "private"`: this principal only); the list is held here for that
   * long from when it was asked for, so a repeat costs no request to the server, and the caller is
   * told what is left of it (docs/mcp-gateway.md, "Tool lists"). A list is asked for afresh once
   * it has expired, and after `forgetTools`.
   */
  async listTools(signal?: AbortSignal, timeoutMs?: number): Promise<ListedTools> {
    const held = this.listed;
    if (held && held.freshUntil > Date.now()) return held;
    const generation = this.listGeneration;
    const tools = await mcpClientRequest("tools/list", undefined, () => this.askForTools(signal, timeoutMs));
    // Scopes changed, a new connection, or a refusal while it was asked for: answered, not held.
    if (generation !== this.listGeneration) return { tools: tools.tools, freshUntil: Date.now() };
    if (tools.freshUntil > Date.now()) this.listed = tools;
    return tools;
  }

  private askForTools(signal?: AbortSignal, timeoutMs?: number): Promise<ListedTools> {
    return this.run({ idempotent: true, signal, timeoutMs }, (client: Client) =>
      this.linked(signal, async (local) => {
        const askedAt = Date.now();
        // Every page, aggregated by the SDK. `refresh`: a list held here has just expired, so the
        // SDK's own copy (which callTool's output validation reads) is no fresher; it is replaced.
        const result = await client.listTools(
          { _meta: traceMeta() },
          { ...this.requestOptions(local), cacheMode: "refresh" },
        );
        return {
          tools: result.tools,
          freshUntil: askedAt + listReuseMs((result as { ttlMs?: unknown }).ttlMs),
        };
      }),
    );
  }

  /**
   * One tools/call. A tool that asks the user something first (docs/mcp-gateway.md, "Questions to
   * the user") is answered `input_required` with its questions, whichever revision asked them; the
   * call sent again with the user's answers (and the state) runs. On 2026-07-28 the question is
   * the server's own `input_required` result and the answers go back in the repeated request; on
   * the 2025 family the server asks with an `elicitation/create` request on this call's stream,
   * which this call answers from the answers it carries — or, having none, refuses, and the
   * question goes back to the caller. Each call's answers live in that call only
   * (`call-questions.ts`): never another call's, never another principal's.
   */
  async callTool(
    name: string,
    args: Record<string, unknown>,
    options: ToolCallOptions,
  ): Promise<CallToolResult | InputRequiredResult> {
    return mcpClientRequest("tools/call", name, () => this.callToolOnce(name, args, options));
  }

  private async callToolOnce(
    name: string,
    args: Record<string, unknown>,
    options: ToolCallOptions,
  ): Promise<CallToolResult | InputRequiredResult> {
    return this.run(options, (client: Client) =>
      this.linked(options.signal, async (local) => {
        const meta = {
          ...traceMeta(),
          ...(options.idempotencyKey ? { [IDEMPOTENCY_META_KEY]: options.idempotencyKey } : {}),
        };
        if (client.getProtocolEra() === "modern") {
          const answered = options.inputResponses !== undefined || options.requestState !== undefined;
          const send = (withAnswers: boolean) =>
            client.request(
              {
                method: "tools/call",
                params: {
                  name,
                  arguments: args,
                  _meta: meta,
                  ...(withAnswers && options.inputResponses
                    ? { inputResponses: options.inputResponses }
                    : {}),
                  ...(withAnswers && options.requestState ? { requestState: options.requestState } : {}),
                },
              } as never,
              // The `input_required` answer comes back to the caller: the user answers, not the gateway.
              { ...this.requestOptions(local), allowInputRequired: true } as never,
            ) as Promise<CallToolResult | InputRequiredResult>;
          try {
            return await send(answered);
          } catch (err) {
            // The state expired (or the server's key changed): nothing ran. Asked afresh, the
            // question goes back to the user; an old yes never stands for a new question.
            if (!answered || !isInvalidRequestState(err)) throw err;
            return send(false);
          }
        }
        const questions: CallQuestions = { responses: options.inputResponses };
        const result = await questionsOf(questions, () =>
          client.callTool({ name, arguments: args, _meta: meta }, this.requestOptions(local)),
        );
        return askedWithoutAnswer(questions) ?? result;
      }),
    );
  }

  async close(): Promise<void> {
    const conn = this.current;
    this.current = undefined;
    this.connecting = undefined;
    this.forgetTools();
    if (!conn) return;
    const transport = conn.client.transport as StreamableHTTPClientTransport | undefined;
    // Tell the server a 2025 session is over (DELETE), then drop the client; best effort.
    if (transport?.sessionId) await transport.terminateSession().catch(() => undefined);
    await conn.client.close().catch(() => undefined);
  }

  /** A request waits for its answer within what is left of the call's deadline. */
  private requestOptions(signal: AbortSignal | undefined) {
    return { timeout: remainingMs(this.options.callTimeoutMs), ...(signal ? { signal } : {}) };
  }

  /**
   * The SDK never removes the abort listener it puts on a request's signal, so when the caller's
   * signal fires after the request has finished (connect-node aborts a handler's signal when the
   * RPC ends) it sends `notifications/cancelled` for a request long answered: one extra POST to
   * the MCP server per call. The SDK gets a per-call signal linked to the caller's only while the
   * request runs.
   */
  private async linked<T>(
    signal: AbortSignal | undefined,
    op: (signal: AbortSignal | undefined) => Promise<T>,
  ): Promise<T> {
    if (!signal) return op(undefined);
    const local = new AbortController();
    const forward = () => local.abort(signal.reason);
    if (signal.aborted) forward();
    else signal.addEventListener("abort", forward, { once: true });
    try {
      return await op(local.signal);
    } finally {
      signal.removeEventListener("abort", forward);
    }
  }

  private run<T>(options: CallOptions, op: (client: Client) => Promise<T>): Promise<T> {
    const deadline = Date.now() + (options.timeoutMs ?? this.options.callTimeoutMs);
    return withDeadline(deadline, () => this.runWithin(options, op));
  }

  private async runWithin<T>(options: CallOptions, op: (client: Client) => Promise<T>): Promise<T> {
    this.inFlight++;
    this.lastUsed = Date.now();
    try {
      const conn = await this.connection();
      try {
        return await this.on(conn, op);
      } catch (err) {
        const staleEra = conn.adopted && isStaleEra(err);
        const keyed = options.idempotencyKey !== undefined;
        if (!staleEra && !isRetryable(err, options.idempotent, keyed)) throw err;
        if (options.signal?.aborted) throw err;
        if (staleEra) this.options.era.forget();
        this.options.logger.info(
          { session: this.key, reason: describe(err), keyed },
          staleEra
            ? "MCP server no longer speaks what it did; probing again once"
            : "MCP session lost; re-initializing once",
        );
        this.retire(conn);
        // Only a write that may have run must wait for the server to come back; a refused or
        // 404'd request never ran, so a server that is down is reported at once.
        const mayHaveRun = keyed && !(err instanceof SdkHttpError) && !neverReachedServer(err);
        return await this.retry(op, mayHaveRun, options.signal);
      }
    } finally {
      this.inFlight--;
      this.lastUsed = Date.now();
    }
  }

  /**
   * The one retry. A keyed write may have run before the connection was lost, so its retry must
   * reach the server (which answers with the first result) rather than give up while the server
   * restarts: refused connections — which never reach it — are tried again with a short backoff,
   * within the call's deadline.
   */
  private async retry<T>(
    op: (client: Client) => Promise<T>,
    mayHaveRun: boolean,
    signal?: AbortSignal,
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.on(await this.connection(), op);
      } catch (err) {
        // Refused connections, and a 503 while a restarted server's verifiers catch up: the
        // request did not run.
        const refused = neverReachedServer(err) || (err instanceof SdkHttpError && err.status === 503);
        // While a restarting MCP server still refuses connections.
        const pause = backoffDelayMs(attempt, REFUSED_CONNECTION_BACKOFF);
        const late = pause > remainingMs(this.options.callTimeoutMs);
        if (!mayHaveRun || !refused || signal?.aborted || late) throw err;
        if (this.current) this.retire(this.current);
        await sleep(pause, signal);
      }
    }
  }

  /** Runs `op` on `conn`, closing a retired connection once its last call is done. */
  private async on<T>(conn: Connection, op: (client: Client) => Promise<T>): Promise<T> {
    conn.inFlight++;
    try {
      return await op(conn.client);
    } finally {
      conn.inFlight--;
      if (conn.retired && conn.inFlight === 0) void conn.client.close().catch(() => undefined);
    }
  }

  /**
   * Stops handing out `conn`. Calls already running on it finish on their own (each gets its own
   * 404 from the server and retries on the new connection); it is closed when the last one ends.
   */
  private retire(conn: Connection): void {
    if (this.current === conn) this.current = undefined;
    // A new connection (a restarted server, another revision) lists afresh.
    this.forgetTools();
    if (conn.retired) return;
    conn.retired = true;
    if (conn.inFlight === 0) void conn.client.close().catch(() => undefined);
  }

  private connection(): Promise<Connection> {
    if (this.current) return Promise.resolve(this.current);
    this.connecting ??= this.connect().then(
      ({ client, adopted }) => {
        this.current = { client, adopted, inFlight: 0, retired: false };
        this.connecting = undefined;
        return this.current;
      },
      (err: unknown) => {
        this.connecting = undefined;
        throw err;
      },
    );
    return this.connecting;
  }

  private connect(): Promise<OpenedClient> {
    return openMcpClient({
      url: this.options.url,
      clientVersion: this.options.clientVersion,
      policy: this.options.policy,
      era: this.options.era,
      callTimeoutMs: this.options.callTimeoutMs,
      fetch: (url, init) => authorizedFetch(this.options, this.subject, url, init),
      onError: (err) => this.options.logger.debug({ session: this.key, err }, "MCP transport error"),
    });
  }
}

/** The caller's W3C trace in the request's `_meta` (2026-07-28), beside the `traceparent` header. */
function traceMeta(): Record<string, string> {
  const traceparent = outgoingCallHeaders().traceparent;
  return traceparent ? { [TRACEPARENT_META_KEY]: traceparent } : {};
}
