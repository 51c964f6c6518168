import * as http from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A loopback stand-in for an OpenAI-compatible server that streams (a hosted model cannot run in
 * tests): real `text/event-stream` bytes, each piece in its own TCP write, so a client sees them
 * arrive separately. Each test scripts `respond`; requests are recorded in `seen`.
 */
export interface ChatStreamServer {
  readonly baseUrl: string;
  readonly seen: Record<string, unknown>[];
  respond: (body: Record<string, unknown>, res: http.ServerResponse) => void | Promise<void>;
  close(): Promise<void>;
}

export async function startChatStreamServer(): Promise<ChatStreamServer> {
  const seen: Record<string, unknown>[] = [];
  const sockets = new Set<import("node:net").Socket>();
  const state: ChatStreamServer = {
    baseUrl: "",
    seen,
    respond: (_b, res) => {
      res.end();
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
  const server = http.createServer((req, res) => {
    let data = "";
    req.on("data", (c: Buffer) => {
      data += c.toString();
    });
    req.on("end", () => {
      const body = JSON.parse(data) as Record<string, unknown>;
      seen.push(body);
      void state.respond(body, res);
    });
  });
  server.on("connection", (socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return Object.assign(state, { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1` });
}

/** One SSE event carrying `value` as JSON (or `[DONE]`), as chat completions frames them. */
export const sse = (value: unknown): string =>
  `data: ${typeof value === "string" ? value : JSON.stringify(value)}\n\n`;

/** A `chat.completion.chunk` with one choice (or none, for the usage chunk). */
export function chunk(
  delta: Record<string, unknown> | undefined,
  extra: { finish_reason?: string; usage?: Record<string, number> } = {},
): Record<string, unknown> {
  return {
    id: "chatcmpl-stream",
    object: "chat.completion.chunk",
    created: 1_700_000_000,
    model: "stream-model-2024",
    choices: delta ? [{ index: 0, delta, logprobs: null, finish_reason: extra.finish_reason ?? null }] : [],
    ...(extra.usage ? { usage: extra.usage } : { usage: null }),
  };
}

export function startEventStream(res: http.ServerResponse): void {
  res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" });
  res.flushHeaders();
}

/** Writes each piece separately, waiting `between` (a delay or a gate) after each one. */
export async function writeEach(
  res: http.ServerResponse,
  pieces: readonly string[],
  between: () => Promise<void>,
): Promise<void> {
  for (const piece of pieces) {
    if (res.destroyed) return;
    res.write(piece);
    await between();
  }
}

export const pause = (ms: number) => () => new Promise<void>((r) => setTimeout(r, ms));
