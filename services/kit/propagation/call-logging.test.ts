/**
 * The call-context interceptor's one log line per call, and the masking of unexpected errors,
 * over a real server: unary and server-streaming, Connect over HTTP/1.1 and gRPC over h2c.
 */
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTokenVerifier } from "../auth/token-verifier.js";
import { type ServiceServer, startServiceServer } from "../server/service-server.js";
import { RelayService } from "../testing/gen/supportext/relay/v1/relay_pb.js";
import { captureLogs } from "../testing/log-capture.js";
import { startTestIssuer, type TestIssuer } from "../testing/test-issuer.js";

const STREAM = "supportext.relay.v1.RelayService/InspectStream";
const UNARY = "supportext.relay.v1.RelayService/Inspect";
const logs = captureLogs("calls");
let issuer: TestIssuer;
let server: ServiceServer;
let token: string;
/** Released by a test to let the "gated" stream send its second message and end. */
let releaseGate: () => void = () => {};

beforeAll(async () => {
  issuer = await startTestIssuer({ audience: "aud" });
  token = await issuer.mint({ aud: "aud", sub: "user-calls" });
  server = await startServiceServer({
    name: "calls",
    host: "127.0.0.1",
    port: 0,
    logger: logs.logger,
    routes: (router) =>
      router.service(RelayService, {
        inspect(req) {
          if (req.nonce === "plain-error") throw new Error("db exploded: relation users is locked");
          return { nonce: req.nonce, hops: [] };
        },
        async *inspectStream(req, ctx) {
          yield { nonce: req.nonce, index: 0, hops: [] };
          if (req.nonce === "until-cancelled") {
            // Like a Watch loop: runs until the client goes away, then returns normally.
            await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
            return;
          }
          if (req.nonce === "gated") await new Promise<void>((resolve) => (releaseGate = resolve));
          if (req.nonce === "plain-error")
            throw new Error("db exploded mid-stream: relation users is locked");
          if (req.nonce === "refused") throw new ConnectError("not your ticket", Code.PermissionDenied);
          yield { nonce: req.nonce, index: 1, hops: [] };
        },
      }),
    auth: { verifier: createTokenVerifier({ issuer: issuer.issuer, audience: "aud", keys: issuer.jwksUrl }) },
    corsOrigins: [],
  });
});
afterAll(async () => {
  await server?.close();
  await issuer?.close();
});

const transports: Record<string, () => Transport> = {
  "connect over HTTP/1.1": () => createConnectTransport({ baseUrl: server.url, httpVersion: "1.1" }),
  "gRPC over h2c": () => createGrpcTransport({ baseUrl: server.url }),
};

/** The interceptor's lines for one call, found by its request id. */
const callLines = (requestId: string) =>
  logs.records().filter((r) => r.request_id === requestId && String(r.msg).startsWith("rpc "));

let calls = 0;
function headers(): { requestId: string; headers: Record<string, string> } {
  const requestId = `req-calls-${++calls}`;
  return { requestId, headers: { authorization: `Bearer ${token}`, "x-request-id": requestId } };
}

describe("call logging and error masking", () => {
  for (const [name, transport] of Object.entries(transports)) {
    it(`a stream is logged "rpc ok" once, when it has ended, not when it starts (${name})`, async () => {
      const client = createClient(RelayService, transport());
      const { requestId, headers: h } = headers();
      const it = client.inspectStream({ nonce: "gated", count: 2 }, { headers: h })[Symbol.asyncIterator]();
      expect((await it.next()).value?.index).toBe(0);
      // The first message is out and the handler is still running: the call has not finished.
      expect(callLines(requestId)).toEqual([]);
      releaseGate();
      expect((await it.next()).value?.index).toBe(1);
      expect((await it.next()).done).toBe(true);
      const lines = callLines(requestId);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ msg: "rpc ok", procedure: STREAM, user_id: "user-calls" });
      expect(lines[0]?.duration_ms).toEqual(expect.any(Number));
    });

    it(`an unexpected error mid-stream reaches the client as internal without its text, and is logged (${name})`, async () => {
      const client = createClient(RelayService, transport());
      const { requestId, headers: h } = headers();
      const received: number[] = [];
      const err = await (async () => {
        for await (const m of client.inspectStream({ nonce: "plain-error", count: 2 }, { headers: h })) {
          received.push(m.index);
        }
      })().catch((e: unknown) => ConnectError.from(e));
      expect(received).toEqual([0]);
      expect(err).toBeInstanceOf(ConnectError);
      expect((err as ConnectError).code).toBe(Code.Internal);
      expect((err as ConnectError).rawMessage).not.toContain("db exploded");
      const lines = callLines(requestId);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: "error", procedure: STREAM, code: "Internal" });
      expect(JSON.stringify(lines[0])).toContain("db exploded mid-stream");
    });

    it(`a ConnectError mid-stream keeps its code and message and is logged as a warning (${name})`, async () => {
      const client = createClient(RelayService, transport());
      const { requestId, headers: h } = headers();
      const err = await (async () => {
        for await (const _ of client.inspectStream({ nonce: "refused", count: 2 }, { headers: h })) {
          // drain
        }
      })().catch((e: unknown) => ConnectError.from(e));
      expect((err as ConnectError).code).toBe(Code.PermissionDenied);
      expect((err as ConnectError).rawMessage).toBe("not your ticket");
      const lines = callLines(requestId);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: "warn", procedure: STREAM, code: "PermissionDenied" });
    });

    it(`a stream the client cancels is logged once, as canceled, not as ok (${name})`, async () => {
      const client = createClient(RelayService, transport());
      const { requestId, headers: h } = headers();
      const abort = new AbortController();
      const it = client
        .inspectStream({ nonce: "until-cancelled", count: 2 }, { headers: h, signal: abort.signal })
        [Symbol.asyncIterator]();
      expect((await it.next()).value?.index).toBe(0);
      abort.abort();
      await it.next().catch(() => undefined);
      // The server learns of the cancel asynchronously; a bounded wait for its line.
      for (let i = 0; i < 500 && callLines(requestId).length === 0; i++)
        await new Promise((r) => setTimeout(r, 10));
      const lines = callLines(requestId);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: "warn", procedure: STREAM, code: "Canceled" });
    });

    it(`a plain Error from a unary handler reaches the client as internal, as documented (${name})`, async () => {
      const client = createClient(RelayService, transport());
      const { requestId, headers: h } = headers();
      const err = await client
        .inspect({ nonce: "plain-error" }, { headers: h })
        .catch((e: unknown) => ConnectError.from(e));
      expect((err as ConnectError).code).toBe(Code.Internal);
      expect((err as ConnectError).rawMessage).toBe("internal error");
      const lines = callLines(requestId);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatchObject({ level: "error", procedure: UNARY, code: "Internal" });
    });
  }

  it("keeps token and bearer as words in what the caller is told and in the log line, and removes a credential", async () => {
    const client = createClient(RelayService, transports["gRPC over h2c"]?.() as Transport);
    const requestId = `req-calls-words-${++calls}`;
    const err = await client
      .inspect({ nonce: "n" }, { headers: { "x-request-id": requestId } })
      .catch((e: unknown) => ConnectError.from(e));
    expect(err).toMatchObject({ code: Code.Unauthenticated });
    expect((err as ConnectError).rawMessage).toContain("no bearer token was presented");
    expect(String(callLines(requestId)[0]?.msg)).toContain("no bearer token was presented");

    const forgedId = `req-calls-words-${++calls}`;
    const forged = `${token.slice(0, -4)}AAAA`;
    await client
      .inspect({ nonce: "n" }, { headers: { authorization: `Bearer ${forged}`, "x-request-id": forgedId } })
      .catch(() => undefined);
    expect(callLines(forgedId)).toHaveLength(1);
    expect(JSON.stringify(callLines(forgedId))).not.toContain(forged);
  });
});
