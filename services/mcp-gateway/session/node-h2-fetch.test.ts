import * as http from "node:http";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { causeCode, isRetryable, neverReachedServer } from "./failure-kinds.js";
import { mcpHttpFetch } from "./mcp-http-fetch.js";
import { closeH2Sessions, Http2UnsupportedError, nodeH2Fetch } from "./node-h2-fetch.js";

/** The gateway's HTTP/2 fetch against real node:http2 and node:http servers on loopback. */
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  closeH2Sessions();
  await Promise.all(closers.splice(0).map((c) => c()));
});

async function h2Server(
  handler: (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => void,
) {
  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (s) => sessions.add(s));
  // A stream the test resets or cuts off errors on the server's side too: expected there.
  server.on("stream", (stream) => stream.on("error", () => undefined));
  server.on("stream", handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
  const close = () =>
    new Promise<void>((r) => {
      for (const s of sessions) s.destroy();
      server.close(() => r());
    });
  closers.push(close);
  return { url, sessions, close };
}

const post = (body: unknown, headers: Record<string, string> = {}) => ({
  method: "POST",
  headers: { "content-type": "application/json", ...headers },
  body: JSON.stringify(body),
});

describe("nodeH2Fetch", () => {
  it("sends the request with its headers on one session for many calls, and reads a JSON answer whole", async () => {
    const seen: http2.IncomingHttpHeaders[] = [];
    const server = await h2Server((stream, headers) => {
      seen.push(headers);
      let body = "";
      stream.on("data", (c) => {
        body += c;
      });
      stream.on("end", () => {
        stream.respond({ ":status": 200, "content-type": "application/json" });
        stream.end(JSON.stringify({ echo: JSON.parse(body) }));
      });
    });
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        nodeH2Fetch(server.url, post({ i }, { authorization: `Bearer t-${i}`, connection: "keep-alive" })),
      ),
    );
    for (const [i, res] of answers.entries()) {
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ echo: { i } });
    }
    expect(server.sessions.size).toBe(1);
    expect(seen.map((h) => h.authorization).sort()).toEqual(
      Array.from({ length: 20 }, (_, i) => `Bearer t-${i}`).sort(),
    );
    expect(seen[0]?.[":path"]).toBe("/mcp");
  });

  it("streams an SSE answer as it comes", async () => {
    const server = await h2Server((stream) => {
      stream.respond({ ":status": 200, "content-type": "text/event-stream" });
      stream.write("data: one\n\n");
      setTimeout(() => stream.end("data: two\n\n"), 50);
    });
    const res = await nodeH2Fetch(server.url, { method: "GET" });
    const text = await new Response(res.body).text();
    expect(text).toBe("data: one\n\ndata: two\n\n");
  });

  it("a refused connection never reached the server: ECONNREFUSED, safe to send again", async () => {
    const server = await h2Server(() => undefined);
    await server.close();
    const failure = await nodeH2Fetch(server.url, post({})).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(TypeError);
    expect(causeCode(failure)).toBe("ECONNREFUSED");
    expect(neverReachedServer(failure)).toBe(true);
  });

  it("a stream lost after it was sent is a reset: sent again only when idempotent or keyed", async () => {
    const server = await h2Server(() => {
      // The server goes away with the request in hand (kill -9 of the MCP server).
      for (const s of server.sessions) s.destroy();
    });
    const failure = await nodeH2Fetch(server.url, post({})).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(TypeError);
    expect(causeCode(failure)).toBe("ECONNRESET");
    expect(isRetryable(failure, false, false)).toBe(false);
    expect(isRetryable(failure, true, false)).toBe(true);
  });

  it("an answer cut off mid-body is a lost stream, never a shorter 200", async () => {
    const server = await h2Server((stream) => {
      stream.respond({ ":status": 200, "content-type": "application/json" });
      stream.write('{"a":1');
      // The server's session goes away cleanly with the body half sent (a drain past its grace).
      setTimeout(() => {
        for (const s of server.sessions) s.destroy();
      }, 20);
    });
    const failure = await nodeH2Fetch(server.url, post({})).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(TypeError);
    expect(causeCode(failure)).toBe("ECONNRESET");
  });

  it("a stream the server refused never ran: safe to send again", async () => {
    const server = await h2Server((stream) => stream.close(http2.constants.NGHTTP2_REFUSED_STREAM));
    const failure = await nodeH2Fetch(server.url, post({})).catch((e: unknown) => e);
    expect(neverReachedServer(failure)).toBe(true);
    expect(isRetryable(failure, false, false)).toBe(true);
  });

  it("a caller that gives up while the session is being set up sends nothing", async () => {
    let requests = 0;
    const server = await h2Server((stream) => {
      requests++;
      stream.respond({ ":status": 200, "content-type": "application/json" });
      stream.end("{}");
    });
    // A slow network: the connection reaches the server 300 ms late.
    const target = Number(new URL(server.url).port);
    const slow = net.createServer((socket) => {
      socket.pause();
      setTimeout(() => {
        const upstream = net.connect(target, "127.0.0.1");
        socket.pipe(upstream).pipe(socket);
        socket.resume();
        upstream.on("error", () => socket.destroy());
        socket.on("error", () => upstream.destroy());
      }, 300);
    });
    await new Promise<void>((r) => slow.listen(0, "127.0.0.1", r));
    closers.push(() => new Promise<void>((r) => slow.close(() => r())));
    const url = `http://127.0.0.1:${(slow.address() as AddressInfo).port}/mcp`;
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error("deadline passed")), 100);
    await expect(nodeH2Fetch(url, { ...post({}), signal: controller.signal })).rejects.toThrow(
      "deadline passed",
    );
    await new Promise((r) => setTimeout(r, 500));
    expect(requests).toBe(0);
  });

  it("an abort ends the call with the signal's reason", async () => {
    const server = await h2Server(() => undefined); // never answers
    const controller = new AbortController();
    const pending = nodeH2Fetch(server.url, { ...post({}), signal: controller.signal });
    setTimeout(() => controller.abort(new Error("caller gave up")), 50);
    await expect(pending).rejects.toThrow("caller gave up");
  });

  it("an HTTP/1.1-only server is found out before any request reached it; mcpHttpFetch then speaks HTTP/1.1", async () => {
    let requests = 0;
    const server = http.createServer((_req, res) => {
      requests++;
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"ok":true}');
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    closers.push(() => new Promise<void>((r) => server.close(() => r())));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
    await expect(nodeH2Fetch(url, post({}))).rejects.toBeInstanceOf(Http2UnsupportedError);
    expect(requests).toBe(0);
    const res = await mcpHttpFetch("auto", url, post({}), 5_000);
    expect(await res.json()).toEqual({ ok: true });
    expect(requests).toBe(1);
  });
});
