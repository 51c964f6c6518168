import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTokenVerifier } from "#kit/auth/index.js";
import { currentCallScope, runInCallScope } from "#kit/propagation/index.js";
import { captureLogs } from "#kit/testing/log-capture.js";
import { startTestIssuer, type TestIssuer } from "#kit/testing/test-issuer.js";
import { createAuthenticator } from "./authenticate.js";

const RESOURCE = "http://127.0.0.1:8083/mcp";
let issuer: TestIssuer;
beforeAll(async () => {
  issuer = await startTestIssuer({ audience: RESOURCE });
});
afterAll(() => issuer.close());

describe("authenticate", () => {
  it("puts the verified principal in the call scope but never the token (no passthrough)", async () => {
    const logs = captureLogs("mcp-server");
    const authenticate = createAuthenticator({
      verifier: createTokenVerifier({ issuer: issuer.issuer, audience: RESOURCE, keys: issuer.jwksUrl }),
      logger: logs.logger,
      devAnonymous: false,
    });
    const token = await issuer.mint({ sub: "u-1", email: "u1@company.com" });
    const { auth, scope } = await runInCallScope(async () => ({
      auth: await authenticate(`Bearer ${token}`),
      scope: { ...currentCallScope() },
    }));
    expect(auth).toMatchObject({ ok: true, principal: { userId: "u-1" } });
    expect(scope.principal?.userId).toBe("u-1");
    expect(scope.credential).toBeUndefined();
    expect(logs.records().at(-1)).toMatchObject({
      msg: "MCP tool authenticated for user u-1",
      user_id: "u-1",
    });
  });
});
