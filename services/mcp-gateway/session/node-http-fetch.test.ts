import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { causeCode } from "./failure-kinds.js";
import { nodeHttpFetch } from "./node-http-fetch.js";

let server: http.Server;
let base: string;
const openStreams = new Set<http.ServerResponse>();

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      if (req.url === "/json") {
        res.writeHead(201, { "content-type": "application/json", "mcp-session-id": "s-1" });
        res.end(
          JSON.stringify({
            method: req.method,
            auth: req.headers.authorization,
            body: Buffer.concat(chunks).toString(),
          }),
        );
      } else if (req.url === "/sse") {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.write("data: first\n\n");
        openStreams.add(res); // never ended by the server: only the client's abort ends it
      } else if (req.url === "/slow") {
        openStreams.add(res); // never answers
      } else {
        res.writeHead(202).end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const res of openStreams) res.destroy();
  // Node 22+ keeps a keep-alive connection whose request was aborted before it connected, idle in
  // the agent's pool for the next request; closing the server must not wait for it.
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

describe("nodeHttpFetch", () => {
  it("sends method, headers and body; answers with status, headers and the whole body", async () => {
    const res = await nodeHttpFetch(`${base}/json`, {
      method: "POST",
      headers: new Headers({ authorization: "Bearer t-1", "content-type": "application/json" }),
      body: '{"jsonrpc":"2.0"}',
    });
    expect(res.status).toBe(201);
    expect(res.headers.get("mcp-session-id")).toBe("s-1");
    expect(await res.json()).toEqual({ method: "POST", auth: "Bearer t-1", body: '{"jsonrpc":"2.0"}' });
    const accepted = await nodeHttpFetch(`${base}/notify`, { method: "POST", body: "{}" });
    expect(accepted.status).toBe(202);
    expect(await accepted.text()).toBe("");
  });

  it("takes headers as a plain object, and a whole answer's body is read once, as with fetch", async () => {
    const res = await nodeHttpFetch(`${base}/json`, {
      method: "POST",
      headers: { Authorization: "Bearer t-2", "content-type": "application/json" },
      body: "{}",
    });
    expect(res.ok).toBe(true);
    expect(res.bodyUsed).toBe(false);
    expect(await res.json()).toEqual({ method: "POST", auth: "Bearer t-2", body: "{}" });
    expect(res.bodyUsed).toBe(true);
    await expect(res.text()).rejects.toThrow(TypeError);
  });

  it("streams an SSE answer before it ends, and the caller's abort ends it", async () => {
    const controller = new AbortController();
    const res = await nodeHttpFetch(`${base}/sse`, { signal: controller.signal });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe("data: first\n\n");
    controller.abort(new Error("caller went away"));
    await expect(reader.read()).rejects.toThrow();
  });

  it("rejects with the signal's reason when aborted before the answer", async () => {
    const controller = new AbortController();
    const pending = nodeHttpFetch(`${base}/slow`, { signal: controller.signal });
    controller.abort(new Error("deadline"));
    await expect(pending).rejects.toThrow("deadline");
  });

  it("rejects like fetch when nothing listens: a TypeError caused by ECONNREFUSED", async () => {
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const err = await nodeHttpFetch(`http://127.0.0.1:${port}/`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect(causeCode(err)).toBe("ECONNREFUSED");
  });
});
