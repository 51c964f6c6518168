import { createHash, randomBytes } from "node:crypto";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import {
  createConnectTransport,
  createGrpcTransport,
  createGrpcWebTransport,
} from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RelayService } from "../testing/gen/supportext/relay/v1/relay_pb.js";
import { captureLogs } from "../testing/log-capture.js";
import { type RelayChain, startRelayChain } from "../testing/relay-chain.js";
import { RELAY_DIAGNOSTICS } from "../testing/relay-service.js";

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");
const logs = captureLogs("relay");
let chain: RelayChain;

beforeAll(async () => {
  chain = await startRelayChain(logs.logger);
});
afterAll(async () => {
  await chain?.close();
});

const transports = {
  "connect over HTTP/1.1": () => createConnectTransport({ baseUrl: chain.a.url, httpVersion: "1.1" }),
  "gRPC over h2c": () => createGrpcTransport({ baseUrl: chain.a.url }),
  "gRPC-Web over HTTP/1.1": () => createGrpcWebTransport({ baseUrl: chain.a.url, httpVersion: "1.1" }),
};

describe("identity propagation A → B → C", () => {
  for (const [name, transport] of Object.entries(transports)) {
    it(`unary: C's handler sees A's caller (${name})`, async () => {
      const token = await chain.issuer.mint({ sub: "user-unary" });
      const traceId = randomBytes(16).toString("hex");
      const client = createClient(RelayService, transport());
      const res = await client.inspect(
        { nonce: "n1" },
        {
          headers: {
            authorization: `Bearer ${token}`,
            traceparent: `00-${traceId}-${randomBytes(8).toString("hex")}-01`,
            "x-request-id": "req-unary-1",
          },
        },
      );
      expect(res.hops.map((h) => h.hop)).toEqual(["A", "B", "C"]);
      for (const hop of res.hops) {
        expect(hop.userId).toBe("user-unary");
        expect(hop.credentialSha256).toBe(sha256(token));
        expect(hop.traceId).toBe(traceId);
        expect(hop.requestId).toBe("req-unary-1");
      }
    });

    it(`server streaming: every message from C names the caller (${name})`, async () => {
      const token = await chain.issuer.mint({ sub: "user-stream" });
      const client = createClient(RelayService, transport());
      const seen: number[] = [];
      for await (const msg of client.inspectStream(
        { nonce: "s1", count: 5 },
        { headers: { authorization: `Bearer ${token}` } },
      )) {
        seen.push(msg.index);
        expect(msg.hops.map((h) => h.hop)).toEqual(["A", "B", "C"]);
        expect(new Set(msg.hops.map((h) => h.userId))).toEqual(new Set(["user-stream"]));
        expect(new Set(msg.hops.map((h) => h.credentialSha256))).toEqual(new Set([sha256(token)]));
        // No traceparent sent: A starts a trace and every hop joins it.
        expect(msg.hops[0]?.traceId).toMatch(/^[0-9a-f]{32}$/);
        expect(new Set(msg.hops.map((h) => h.traceId)).size).toBe(1);
      }
      expect(seen).toEqual([0, 1, 2, 3, 4]);
    });
  }

  it("200 concurrent chains as 200 users: each C handler sees only its own user", async () => {
    const users = Array.from({ length: 200 }, (_, i) => `user-${i}`);
    const tokens = await Promise.all(
      users.map((sub) => chain.issuer.mint({ sub, email: `${sub}@example.com` })),
    );
    const client = createClient(RelayService, createGrpcTransport({ baseUrl: chain.a.url }));
    const results = await Promise.all(
      users.map(async (sub, i) => {
        const token = tokens[i] as string;
        const traceId = randomBytes(16).toString("hex");
        const headers = {
          authorization: `Bearer ${token}`,
          traceparent: `00-${traceId}-${"1".repeat(16)}-01`,
        };
        const unary = await client.inspect({ nonce: sub }, { headers });
        const streamed = [];
        for await (const m of client.inspectStream({ nonce: sub, count: 3 }, { headers })) streamed.push(m);
        return { sub, token, traceId, unary, streamed };
      }),
    );
    let wrong = 0;
    for (const r of results) {
      const answers = [r.unary, ...r.streamed];
      expect(r.streamed).toHaveLength(3);
      for (const answer of answers) {
        expect(answer.nonce).toBe(r.sub);
        for (const hop of answer.hops) {
          if (hop.userId !== r.sub || hop.credentialSha256 !== sha256(r.token)) wrong++;
        }
        expect(answer.hops).toHaveLength(3);
      }
      expect(new Set(r.unary.hops.map((h) => h.traceId))).toEqual(new Set([r.traceId]));
    }
    expect(wrong).toBe(0);
  }, 180_000); // generous: 600 calls across three servers on a busy 2-core machine (CI at load 10 took > 30 s)

  it("a call without a token is refused at A with unauthenticated, and nothing runs downstream", async () => {
    const client = createClient(
      RelayService,
      createConnectTransport({ baseUrl: chain.a.url, httpVersion: "1.1" }),
    );
    const before = logs.records().filter((r) => r.hop === "C").length;
    const err = await client.inspect({ nonce: "x" }).catch((e: unknown) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.Unauthenticated);
    expect((err as ConnectError).rawMessage).toMatch(/^missing_token/);
    expect(logs.records().filter((r) => r.hop === "C").length).toBe(before);
  });

  it("a client used outside any call sends no credential", async () => {
    // The test process is not inside a call: the propagation interceptor has nothing to copy.
    const { createServiceClient } = await import("../client/service-client.js");
    const client = createServiceClient(RelayService, chain.c.url);
    const err = await client.inspect({ nonce: "outside" }).catch((e: unknown) => ConnectError.from(e));
    expect((err as ConnectError).code).toBe(Code.Unauthenticated);
    expect((err as ConnectError).rawMessage).toMatch(/^missing_token/);
  });

  it("every log line of a call carries trace_id, request_id and user_id, and no token appears in any line", async () => {
    const token = await chain.issuer.mint({ sub: "user-logged" });
    const client = createClient(
      RelayService,
      createConnectTransport({ baseUrl: chain.a.url, httpVersion: "1.1" }),
    );
    await client.inspect(
      { nonce: "log" },
      { headers: { authorization: `Bearer ${token}`, "x-request-id": "req-log" } },
    );
    const callLines = logs.records().filter((r) => r.request_id === "req-log");
    expect(callLines.map((r) => r.hop).sort()).toEqual(["A", "B", "C"]);
    for (const line of callLines) {
      expect(line.user_id).toBe("user-logged");
      expect(line.trace_id).toMatch(/^[0-9a-f]{32}$/);
    }
    const all = logs.lines.join("\n");
    expect(all).not.toContain(token);
    expect(all).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}\.eyJ/);
  });

  it("no token reaches the logs: not from a refused call, a handler logging its headers, or an error quoting it", async () => {
    const token = await chain.issuer.mint({ sub: "user-careless" });
    const expired = await chain.issuer.mint({ sub: "user-careless" }, { expiresIn: -60 });
    const client = createClient(
      RelayService,
      createConnectTransport({ baseUrl: chain.a.url, httpVersion: "1.1" }),
    );
    const call = (nonce: string, bearer: string, requestId: string) =>
      client
        .inspect({ nonce }, { headers: { authorization: `Bearer ${bearer}`, "x-request-id": requestId } })
        .catch((e: unknown) => ConnectError.from(e));

    const refused = await call("refused", expired, "req-careless-refused");
    expect((refused as ConnectError).code).toBe(Code.Unauthenticated);
    await call(RELAY_DIAGNOSTICS.logHeaders, token, "req-careless-headers");
    const failed = await call(RELAY_DIAGNOSTICS.failQuotingCredential, token, "req-careless-error");
    expect((failed as ConnectError).code).toBe(Code.Internal);
    expect((failed as ConnectError).rawMessage).not.toContain(token);

    // The careless paths really logged what they hold, so the absence of the tokens means something.
    const headerLines = logs
      .records()
      .filter((r) => r.request_id === "req-careless-headers" && r.msg === "request headers");
    expect(headerLines.map((r) => r.hop).sort()).toEqual(["A", "B", "C"]);
    const errorLine = logs
      .records()
      .find((r) => r.request_id === "req-careless-error" && r.hop === "C" && r.err);
    expect(JSON.stringify(errorLine)).toContain("downstream refused Bearer [REDACTED]");
    const all = logs.lines.join("\n");
    expect(all).not.toContain(token);
    expect(all).not.toContain(expired);
    // Not even the signature alone.
    expect(all).not.toContain(token.split(".")[2]);
  });
});
