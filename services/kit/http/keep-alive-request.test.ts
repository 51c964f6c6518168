import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../testing/free-port.js";
import { keepAlivePool, keepAliveRequest } from "./keep-alive-request.js";

let server: http.Server;
let base: string;
beforeAll(async () => {
  server = http.createServer((req, res) => {
    const delay = Number(new URL(req.url ?? "/", "http://x").searchParams.get("delay") ?? 0);
    setTimeout(() => res.end(`answered ${req.method}`), delay);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

/** Sends `opened`'s request and resolves with its answer's body, or rejects with its error. */
function answer(opened: ReturnType<typeof keepAliveRequest>): Promise<string> {
  if (!opened) throw new Error("no request");
  return new Promise((resolve, reject) => {
    opened.req.once("error", reject);
    opened.req.once("response", (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        body += c;
      });
      res.once("end", () => resolve(body));
    });
    opened.req.end();
  });
}

describe("keepAliveRequest", () => {
  it("reuses its pool's socket: the second request is connected before it is sent", async () => {
    const pool = keepAlivePool(1);
    const first = keepAliveRequest(pool, new URL(`${base}/`), { method: "GET", headers: {} });
    expect(await answer(first)).toBe("answered GET");
    expect(first?.connected()).toBe(true);
    const second = keepAliveRequest(pool, new URL(`${base}/`), { method: "POST", headers: {} });
    expect(await answer(second)).toBe("answered POST");
    expect(second?.req.reusedSocket).toBe(true);
    expect(second?.connected()).toBe(true);
  });

  it("bounds connecting only: an answer slower than the connect bound still arrives", async () => {
    // The bound is generous, so a loaded machine connects within it; the answer comes later still.
    const opened = keepAliveRequest(keepAlivePool(4), new URL(`${base}/?delay=1500`), {
      method: "GET",
      headers: {},
      connectTimeoutMs: 1_000,
      connectTimeout: (ms) => new Error(`bound ${ms}`),
    });
    expect(await answer(opened)).toBe("answered GET");
  });

  it("a refused connection fails the request, never connected", async () => {
    const closed = await freePort();
    const opened = keepAliveRequest(keepAlivePool(4), new URL(`http://127.0.0.1:${closed}/`), {
      method: "GET",
      headers: {},
      connectTimeoutMs: 5_000,
    });
    await expect(answer(opened)).rejects.toMatchObject({ code: "ECONNREFUSED" });
    expect(opened?.connected()).toBe(false);
  });

  it("the connect bound destroys a request whose socket has not connected, with the caller's error", async () => {
    const opened = keepAliveRequest(keepAlivePool(4), new URL(`${base}/`), {
      method: "GET",
      headers: {},
      connectTimeoutMs: 1,
      connectTimeout: (ms) => new Error(`no connection within ${ms} ms (caller's)`),
    });
    // Hold the event loop past the bound once the timer is set: the next turn runs timers before it
    // polls for the socket's connect (libuv's phase order), so the bound fires first, every time.
    opened?.req.once("socket", () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20));
    await expect(answer(opened)).rejects.toThrow("no connection within 1 ms (caller's)");
    expect(opened?.connected()).toBe(false);
  });

  it("only http and https", () => {
    expect(
      keepAliveRequest(keepAlivePool(1), new URL("ftp://127.0.0.1/"), { method: "GET", headers: {} }),
    ).toBe(undefined);
  });
});
