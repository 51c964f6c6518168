import { Code, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RevocationService } from "#gen/supportext/auth/v1/revocation_pb.js";
import { SERVICE_AUTHORIZATION_HEADER, SERVICE_IDS } from "#kit/auth/index.js";
import { configuredClientCredentials } from "#kit/service/index.js";
import { startTestStack, type TestStack } from "../../testing/test-stack.js";

/**
 * Who may subscribe to the revocation feed (docs/architecture.md, "Who may call what"): the
 * verifiers behind the edge — agent, gateway, MCP server — as themselves, with no user.
 */
let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ LOG_LEVEL: "warn" });
});
afterAll(async () => {
  await stack?.close();
});

/** Opens Watch with exactly these headers and reads the first message (the snapshot). */
async function firstMessage(
  serviceToken: string | undefined,
  userToken?: string,
): Promise<"snapshot" | ConnectError> {
  const interceptor: Interceptor = (next) => async (req) => {
    if (serviceToken !== undefined) req.header.set(SERVICE_AUTHORIZATION_HEADER, `Bearer ${serviceToken}`);
    if (userToken !== undefined) req.header.set("authorization", `Bearer ${userToken}`);
    return next(req);
  };
  const client = createClient(
    RevocationService,
    createGrpcTransport({ baseUrl: stack.identity.url, interceptors: [interceptor] }),
  );
  const abort = new AbortController();
  try {
    for await (const m of client.watch({}, { signal: abort.signal })) {
      if (m.snapshot) return "snapshot";
    }
    throw new Error("the feed ended without a snapshot");
  } catch (err) {
    return ConnectError.from(err);
  } finally {
    abort.abort();
  }
}

describe("revocation feed callers", () => {
  it("admits chat, the agent, the gateway and the MCP server as themselves; refuses users and everyone else", async () => {
    for (const service of [
      SERVICE_IDS.chat,
      SERVICE_IDS.agent,
      SERVICE_IDS.gateway,
      SERVICE_IDS.mcpServer,
    ] as const) {
      const token = await configuredClientCredentials(stack.config, service).tokenFor(SERVICE_IDS.identity);
      expect(await firstMessage(token), service).toBe("snapshot");
    }
    const user = await stack.login("admin@company.com", stack.passwords.admin);
    const refusals: [string, "snapshot" | ConnectError, Code][] = [
      ["a user token alone", await firstMessage(undefined, user.accessToken), Code.PermissionDenied],
      ["nothing at all", await firstMessage(undefined), Code.PermissionDenied],
      [
        "the agent's credential for the gateway",
        await firstMessage(
          await configuredClientCredentials(stack.config, SERVICE_IDS.agent).tokenFor(
            SERVICE_IDS.gateway,
            "support-assistant",
          ),
        ),
        Code.Unauthenticated,
      ],
      [
        "chat's own credential for the agent",
        await firstMessage(
          await configuredClientCredentials(stack.config, SERVICE_IDS.chat).tokenFor(SERVICE_IDS.agent),
        ),
        Code.Unauthenticated,
      ],
      ["a user token as service credential", await firstMessage(user.accessToken), Code.Unauthenticated],
    ];
    for (const [name, outcome, code] of refusals) {
      expect(outcome === "snapshot" ? `${name}: accepted` : `${name}: ${Code[outcome.code]}`).toBe(
        `${name}: ${Code[code]}`,
      );
    }
  });
});
