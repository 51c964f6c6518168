import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Health } from "#gen/grpc/health/v1/health_pb.js";
import { createServiceClient } from "./service-client.js";

// A server that refuses every stream, as one does with streams that arrive after its GOAWAY.
let server: http2.Http2Server;
let url: string;
const sessions = new Set<http2.Http2Session>();
beforeAll(async () => {
  server = http2.createServer();
  server.on("session", (session) => sessions.add(session));
  server.on("stream", (stream) => {
    stream.on("error", () => {}); // the refusal itself, as Node reports it on the server side
    stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  for (const session of sessions) session.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe("a refused HTTP/2 stream", () => {
  for (const protocol of ["connect", "grpc"] as const) {
    it(`is unavailable, in plain words, for unary calls and server streams (${protocol})`, async () => {
      const client = createServiceClient(Health, url, { protocol });
      const unary = await client.check({}).then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
      expect(unary?.code).toBe(Code.Unavailable);
      expect(unary?.rawMessage).toBe("the service refused the call: it is shutting down or restarting");
      const stream = await (async () => {
        for await (const _ of client.watch({})) return undefined;
        return undefined;
      })().catch((e: unknown) => ConnectError.from(e));
      expect(stream?.code).toBe(Code.Unavailable);
    });
  }
});
