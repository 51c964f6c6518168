/**
 * The protocol sniffer over real sockets. A client (or a middlebox) may deliver the first bytes of
 * a connection in any split, so each request goes through a proxy that forwards its first bytes
 * in small pieces, one TCP segment each.
 */
import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listenOnePort, type OnePortListener } from "./one-port-listener.js";

const PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/** An empty SETTINGS frame: what a client sends right after the preface. */
const EMPTY_SETTINGS = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);

let listener: OnePortListener;

beforeAll(async () => {
  listener = await listenOnePort("127.0.0.1", 0, (req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => {
      body += c.toString();
    });
    req.on("end", () => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end(`${req.httpVersion} ${req.method} ${body}`);
    });
  });
});
afterAll(() => listener.close(1000));

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A TCP proxy to `targetPort` that sends the client's first bytes as the given pieces, each in its
 * own segment (Nagle off, a short pause between writes), and the rest unchanged.
 */
async function startSlicingProxy(targetPort: number, pieces: readonly number[]): Promise<net.Server> {
  const proxy = net.createServer((client) => {
    const upstream = net.connect(targetPort, "127.0.0.1");
    upstream.setNoDelay(true);
    upstream.pipe(client);
    upstream.on("error", () => client.destroy());
    client.on("error", () => upstream.destroy());
    void (async () => {
      let plan = [...pieces];
      for await (const chunk of client as AsyncIterable<Buffer>) {
        let rest = chunk;
        while (plan.length > 0 && rest.length > 0) {
          const size = Math.min(plan[0] as number, rest.length);
          upstream.write(rest.subarray(0, size));
          rest = rest.subarray(size);
          plan = size === plan[0] ? plan.slice(1) : [(plan[0] as number) - size, ...plan.slice(1)];
          await delay(10);
        }
        if (rest.length > 0) upstream.write(rest);
      }
      upstream.end();
    })();
  });
  await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
  return proxy;
}

const port = (server: net.Server) => (server.address() as net.AddressInfo).port;
const closeServer = (server: net.Server) => new Promise<void>((r) => server.close(() => r()));

function http1Post(proxyPort: number, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const agent = new http.Agent({ keepAlive: false });
    const req = http.request(
      { host: "127.0.0.1", port: proxyPort, method: "POST", path: "/x", agent },
      (res) => {
        let text = "";
        res.on("data", (c: Buffer) => {
          text += c.toString();
        });
        res.on("end", () => resolve(text));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

function http2Post(proxyPort: number, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${proxyPort}`);
    session.on("error", reject);
    const stream = session.request({ ":method": "POST", ":path": "/x" });
    let text = "";
    stream.on("data", (c: Buffer) => {
      text += c.toString();
    });
    stream.on("end", () => {
      session.close();
      resolve(text);
    });
    stream.on("error", reject);
    stream.end(body);
  });
}

const splits: Record<string, number[]> = {
  "one byte, then the rest": [1],
  "byte by byte": Array.from({ length: 64 }, () => 1),
};

describe("one port, HTTP/1.1 and h2c", () => {
  for (const [name, pieces] of Object.entries(splits)) {
    it(`routes an HTTP/1.1 POST to the HTTP/1.1 server when its first bytes arrive ${name}`, async () => {
      // "P" (and "PR…" never) is a prefix of the HTTP/2 preface: one byte is not enough to decide.
      const proxy = await startSlicingProxy(listener.port, pieces);
      try {
        expect(await http1Post(port(proxy), "hello")).toBe("1.1 POST hello");
      } finally {
        await closeServer(proxy);
      }
    });

    it(`routes h2c to the HTTP/2 server when the preface arrives ${name}`, async () => {
      const proxy = await startSlicingProxy(listener.port, pieces);
      try {
        expect(await http2Post(port(proxy), "hello")).toBe("2.0 POST hello");
      } finally {
        await closeServer(proxy);
      }
    });
  }
});

describe("connections that break before the protocol is known", () => {
  it("a reset after part of the preface drops that connection only", async () => {
    const socket = net.connect(listener.port, "127.0.0.1");
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    socket.write("PR");
    await delay(20);
    socket.resetAndDestroy(); // TCP RST: ECONNRESET on the server's socket
    await delay(20);
    const proxy = await startSlicingProxy(listener.port, []);
    try {
      expect(await http1Post(port(proxy), "still up")).toBe("1.1 POST still up");
    } finally {
      await closeServer(proxy);
    }
  });
});

/** Resolves with what the socket received once it is closed, or "still open" after `boundMs`. */
function closedWithin(socket: net.Socket, boundMs: number): Promise<"closed" | "still open"> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve("still open"), boundMs);
    socket.on("close", () => {
      clearTimeout(timer);
      resolve("closed");
    });
  });
}

describe("idle HTTP/2 sessions", () => {
  it("a client that sends the preface and then nothing is disconnected after the idle timeout", async () => {
    const local = await listenOnePort("127.0.0.1", 0, (_req, res) => res.end(), { h2IdleTimeoutMs: 100 });
    const socket = net.connect(local.port, "127.0.0.1");
    socket.on("data", () => {}); // read the server's SETTINGS and GOAWAY like a client would
    socket.write(Buffer.concat([Buffer.from(PREFACE), EMPTY_SETTINGS]));
    // The bound is only a ceiling for the test; the session must not be kept for ever.
    expect(await closedWithin(socket, 10_000)).toBe("closed");
    await local.close(1000);
  });

  it("a session with an open stream is not idle, however quiet the stream is", async () => {
    const local = await listenOnePort(
      "127.0.0.1",
      0,
      (_req, res) => {
        // Answers after several idle timeouts have passed.
        setTimeout(() => res.end("late"), 500);
      },
      { h2IdleTimeoutMs: 100 },
    );
    const session = http2.connect(`http://127.0.0.1:${local.port}`);
    const stream = session.request({ ":path": "/slow" });
    let text = "";
    stream.on("data", (c: Buffer) => {
      text += c.toString();
    });
    await new Promise<void>((resolve, reject) => {
      stream.on("end", resolve);
      stream.on("error", reject);
    });
    expect(text).toBe("late");
    session.close();
    await local.close(1000);
  });
});
