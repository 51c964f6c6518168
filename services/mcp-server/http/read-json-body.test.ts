import * as http from "node:http";
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type BodyResult, readJsonBody } from "./read-json-body.js";

/**
 * The MCP endpoint reads a request's body only after authenticating it, so the client may have hung
 * up by then (docs/mcp-server.md, "Authentication, on every request"). Whatever state the request is in when the
 * body is read, the read settles: a body, a refusal or an error, never a wait without end. Real
 * servers and real sockets; the handler waits for the test to say the client is gone.
 */
const SETTLES_WITHIN_MS = 10_000;

type Outcome = { settled: "resolved"; value: BodyResult } | { settled: "rejected" } | { settled: "never" };

function outcomeOf(read: Promise<BodyResult>): Promise<Outcome> {
  return Promise.race([
    read.then(
      (value): Outcome => ({ settled: "resolved", value }),
      (): Outcome => ({ settled: "rejected" }),
    ),
    new Promise<Outcome>((resolve) => setTimeout(() => resolve({ settled: "never" }), SETTLES_WITHIN_MS)),
  ]);
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
});

/** A server whose handler reads the body once `gate` resolves; `read` is that read's outcome. */
function gatedHttp1(gate: Promise<void>) {
  let outcome!: Promise<Outcome>;
  let markHandled!: () => void;
  const handled = new Promise<void>((r) => (markHandled = r));
  const server = http.createServer((req, res) => {
    outcome = gate.then(() => outcomeOf(readJsonBody(req, 1024)));
    markHandled();
    void outcome.then(() => res.destroy());
  });
  server.listen(0, "127.0.0.1");
  closers.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return { server, handled, read: () => outcome };
}

describe("reading a request body that may already be gone", () => {
  it("HTTP/1.1: the client sent part of the body and hung up before it was read — the read rejects", async () => {
    let open!: () => void;
    const { server, handled, read } = gatedHttp1(new Promise<void>((r) => (open = r)));
    await new Promise<void>((r) => server.once("listening", r));
    const socket = net.connect((server.address() as AddressInfo).port, "127.0.0.1");
    socket.write(
      "POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n" +
        '{"jsonrpc":',
    );
    await handled;
    socket.destroy();
    await new Promise((r) => setTimeout(r, 200));
    open();
    expect((await read()).settled).toBe("rejected");
  });

  it("HTTP/1.1: the whole body arrived, then the client closed its side — the read settles", async () => {
    let open!: () => void;
    const { server, handled, read } = gatedHttp1(new Promise<void>((r) => (open = r)));
    await new Promise<void>((r) => server.once("listening", r));
    const socket = net.connect((server.address() as AddressInfo).port, "127.0.0.1");
    const body = '{"jsonrpc":"2.0","id":1,"method":"ping"}';
    socket.write(
      `POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    );
    await handled;
    socket.end();
    await new Promise((r) => setTimeout(r, 200));
    open();
    expect((await read()).settled).not.toBe("never");
  });

  it("HTTP/1.1: a body read in time is read whole", async () => {
    const { server, read, handled } = gatedHttp1(Promise.resolve());
    await new Promise<void>((r) => server.once("listening", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
    const post = (body: string) =>
      new Promise<void>((resolve) => {
        const req = http.request(url, { method: "POST", headers: { "content-type": "application/json" } });
        req.on("error", () => resolve());
        req.on("response", (res) => {
          res.resume();
          resolve();
        });
        req.end(body);
      });
    void post('{"a":1}');
    await handled;
    expect(await read()).toEqual({ settled: "resolved", value: { ok: true, value: { a: 1 } } });
  });

  it("HTTP/2: the client reset its stream before the body was read — the read settles", async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    let outcome!: Promise<Outcome>;
    let handled!: () => void;
    const seen = new Promise<void>((r) => (handled = r));
    const server = http2.createServer((req, res) => {
      outcome = gate.then(() => outcomeOf(readJsonBody(req as unknown as http.IncomingMessage, 1024)));
      handled();
      void outcome.then(() => res.stream.destroy());
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const client = http2.connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    closers.push(
      () =>
        new Promise<void>((r) => {
          client.destroy();
          server.close(() => r());
        }),
    );
    client.on("error", () => undefined);
    const stream = client.request({ ":method": "POST", ":path": "/mcp", "content-type": "application/json" });
    stream.on("error", () => undefined);
    stream.write('{"jsonrpc":');
    await seen;
    stream.close(http2.constants.NGHTTP2_CANCEL);
    await new Promise((r) => setTimeout(r, 200));
    open();
    expect((await outcome).settled).not.toBe("never");
  });
});
