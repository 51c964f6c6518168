import * as http from "node:http";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { captureLogs, type LogCapture } from "../testing/log-capture.js";
import { type RelayChain, startRelayChain } from "../testing/relay-chain.js";

/**
 * Credentials are checked before a request body is read (docs/architecture.md, "Identity
 * propagation"): connect-es decodes a unary message before any interceptor runs, so a caller
 * without a valid token could make a service read, inflate and parse up to its message bound
 * (gzip: ~1000× its own bytes) before being refused. The gate refuses first, reports the refusal as
 * any failed call, and no service accepts compressed requests.
 */
let logs: LogCapture;
let chain: RelayChain;
const INSPECT = "/supportext.relay.v1.RelayService/Inspect";

beforeAll(async () => {
  logs = captureLogs("server");
  chain = await startRelayChain(logs.logger);
});
afterAll(async () => {
  await chain?.close();
});

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** POSTs to service A; with `declaredBytes`, declares that length but sends only `body`, and never ends. */
function post(
  headers: Record<string, string>,
  body: Buffer | string,
  declaredBytes?: number,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${chain.a.url}${INSPECT}`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "connect-protocol-version": "1",
        "content-length": String(declaredBytes ?? Buffer.byteLength(body)),
        ...headers,
      },
    });
    req.on("response", (res) => {
      let data = "";
      res.on("data", (c: Buffer) => {
        data += c.toString();
      });
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: data });
        req.destroy();
      });
    });
    req.on("error", reject);
    if (declaredBytes === undefined) req.end(body);
    else req.write(body);
  });
}

const bearer = async (sub: string) => ({ authorization: `Bearer ${await chain.issuer.mint({ sub })}` });

describe("authentication before the request body", () => {
  it("refuses a call without a token before reading its body: an unfinished 8 MiB body is answered 401 at once", async () => {
    const answer = await post({}, `{"nonce":"${"x".repeat(1000)}`, 8 * 1024 * 1024);
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toMatchObject({ code: "unauthenticated" });
    // Reported as any failed call: its request id on the answer and on its one log line.
    const requestId = answer.headers["x-request-id"];
    expect(requestId).toMatch(/^[0-9a-f-]{36}$/);
    const line = logs.records().find((r) => r.request_id === requestId);
    expect(line).toMatchObject({ level: "warn", procedure: INSPECT.slice(1), code: "Unauthenticated" });
    expect(String(line?.msg)).toMatch(/^rpc failed: /);
  });

  it("refuses a forged token the same way, and never parses the body of either", async () => {
    // A body that is not JSON: parsed, it would be 400 invalid_argument.
    expect((await post({}, "{not json")).status).toBe(401);
    expect((await post({ authorization: "Bearer not.a.jwt" }, "{not json")).status).toBe(401);
    // With a valid token the same body is read and refused as the caller's mistake.
    const answer = await post(await bearer("u-1"), "{not json");
    expect(answer.status).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({ code: "invalid_argument" });
  });

  it("accepts no compressed request: 415 with a token, 401 without (nothing is inflated for anyone)", async () => {
    const bomb = gzipSync(Buffer.from(`{"nonce":"${"0".repeat(4 * 1024 * 1024)}"}`));
    expect(bomb.length).toBeLessThan(8 * 1024);
    expect((await post({ "content-encoding": "gzip" }, bomb)).status).toBe(401);
    const answer = await post({ ...(await bearer("u-2")), "content-encoding": "gzip" }, bomb);
    expect(answer.status).toBe(415);
    const plain = await post(await bearer("u-3"), '{"nonce":"plain"}');
    expect(plain.status).toBe(200);
    expect(JSON.parse(plain.body)).toMatchObject({ nonce: "plain" });
  });

  it("bounds a request message at 64 KiB by default: larger is resource_exhausted, for a caller with a token", async () => {
    const answer = await post(await bearer("u-4"), `{"nonce":"${"y".repeat(65 * 1024)}"}`);
    expect(answer.status).toBe(429);
    expect(JSON.parse(answer.body)).toMatchObject({ code: "resource_exhausted" });
  });
});
