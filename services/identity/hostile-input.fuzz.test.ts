import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { seededRandom } from "#kit/testing/fuzz/seeded-random.js";
import { type HostileRequest, hostileRequest, type KnownClients } from "./testing/fuzz/hostile-requests.js";
import { encodeRequest, sendRaw } from "./testing/fuzz/raw-http.js";
import { createStatusTable } from "./testing/fuzz/status-table.js";
import { startTestIdentity, type TestIdentity } from "./testing/test-identity.js";

/**
 * Thousands of generated hostile requests — random bytes, NUL and other controls, huge
 * values, repeated parameters, wrong content types, malformed Basic credentials, invalid UTF-8 and
 * percent-encoding, odd methods, JSON bombs — over every identity HTTP endpoint (token,
 * authorize, sign-in, registration and its RFC 7592 read, RFC 7009 revocation, the metadata
 * documents and the key set) and the AuthService RPCs (Connect JSON and binary). None may be
 * answered 5xx, and no log line may carry a stack (docs/identity.md, "Malformed input"). The
 * generator is seeded: a failure names the request's index, and the same seed sends the same
 * requests again.
 */
const SEED = 0x18_5eed;
const REQUESTS = 3_000;
const CONCURRENCY = 8;
const REDIRECT_URI = "http://127.0.0.1:4711/callback";

let identity: TestIdentity;
const consoleErrors = vi.spyOn(console, "error");

beforeAll(async () => {
  identity = await startTestIdentity(
    // Failed client authentications past the per-address limit are held 1 s each (docs/identity.md, "Throttling of client authentication"): with
    // every request from one address that would make this run take hours, not test parsing.
    { LOGIN_MAX_FAILURES_PER_ADDRESS: "1000000" },
    // No metadata document is fetched (no fetch slot at all): client ids that are URLs are refused
    // at once, and nothing leaves this machine.
    { oauth: { metadataDocuments: { maxInFlight: 0 } } },
  );
});
afterAll(async () => {
  // The worker runs other files after this one (vitest.config.ts, the shared project).
  consoleErrors.mockRestore();
  await identity?.dispose();
});

describe("hostile input to the identity service", () => {
  it(`answers ${REQUESTS} generated hostile requests (seed ${SEED}) without a 5xx or a logged stack`, async () => {
    const registered = await fetch(`${identity.url}/oauth2/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ redirect_uris: [REDIRECT_URI], token_endpoint_auth_method: "none" }),
    });
    const known: KnownClients = {
      mcpClientId: ((await registered.json()) as { client_id: string }).client_id,
      redirectUri: REDIRECT_URI,
      basic: [
        [identity.env.GATEWAY_CLIENT_ID ?? "mcp-gateway", identity.env.GATEWAY_CLIENT_SECRET ?? ""],
        ["agent", identity.env.AGENT_CLIENT_SECRET ?? ""],
        ["chat", identity.env.CHAT_CLIENT_SECRET ?? ""],
      ],
    };
    const random = seededRandom(SEED);
    const requests = Array.from({ length: REQUESTS }, () => hostileRequest(random, known));
    const { hostname, port } = new URL(identity.url);
    const table = createStatusTable();
    const failures: string[] = [];
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < requests.length; i = next++) {
        const hostile = requests[i] as HostileRequest;
        const status = await sendRaw(
          hostname,
          Number(port),
          encodeRequest(hostile.request, `${hostname}:${port}`),
          20_000,
        );
        table.add(hostile.endpoint, status);
        if (status !== undefined && status >= 500)
          failures.push(`#${i} ${hostile.endpoint} → ${status}: ${summary(hostile)}`);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    console.log(`hostile input, seed ${SEED}:\n${table.format()}`);

    expect(failures.slice(0, 20)).toEqual([]);
    expect(table.serverErrors).toBe(0);
    const stacks = identity.logs.lines.filter((line) => line.includes('"stack"'));
    expect(stacks.map((line) => line.slice(0, 300))).toEqual([]);
    expect(consoleErrors).not.toHaveBeenCalled();
  }, 120_000);
});

function summary(hostile: HostileRequest): string {
  const { method, target, body } = hostile.request;
  const show = (b: string | Buffer | undefined) =>
    JSON.stringify((typeof b === "string" ? b : (b?.toString("latin1") ?? "")).slice(0, 160));
  return `${method} ${show(target)} body ${show(body)}`;
}
