import * as jose from "jose";
import { describe, expect, it } from "vitest";
import { SERVICE_IDS } from "../../kit/auth/service-identity.js";
import { createServiceTokenVerifier } from "../../kit/auth/token-verifier.js";
import { createTokenMinter } from "../tokens/token-minter.js";
import { createOwnServiceCredentials } from "./own-service-credentials.js";

async function setUp(lifetimeSec: number) {
  const { privateKey, publicKey } = await jose.generateKeyPair("ES256");
  const jwk = { ...(await jose.exportJWK(publicKey)), kid: "k1", alg: "ES256" };
  const minter = createTokenMinter({
    issuer: "http://chat.test",
    signer: () => ({ kid: "k1", alg: "ES256", key: privateKey }),
  });
  const credentials = createOwnServiceCredentials({ minter, lifetimeSec, audiences: [SERVICE_IDS.agent] });
  const verifier = createServiceTokenVerifier({
    issuer: "http://chat.test",
    audience: SERVICE_IDS.agent,
    keys: jose.createLocalJWKSet({ keys: [jwk] }),
  });
  return { credentials, verifier };
}

describe("chat's own service credentials", () => {
  it("mints chat's service token for the agent service, once while it is fresh", async () => {
    const { credentials, verifier } = await setUp(300);
    const tokens = await Promise.all(Array.from({ length: 5 }, () => credentials.tokenFor(SERVICE_IDS.agent)));
    expect(new Set(tokens).size).toBe(1);
    expect(await credentials.tokenFor(SERVICE_IDS.agent)).toBe(tokens[0]);
    expect(credentials.minted).toBe(1);
    const caller = await verifier.verify(tokens[0] ?? "");
    expect(caller).toMatchObject({ clientId: SERVICE_IDS.chat });
    expect(caller.agent).toBeUndefined();
    const claims = jose.decodeJwt(tokens[0] ?? "");
    expect(Object.keys(claims).sort()).toEqual(["aud", "client_id", "exp", "iat", "iss", "jti", "nbf", "sub"]);
    expect((claims.exp ?? 0) - (claims.iat ?? 0)).toBe(300);
    // Per (audience, agent).
    const named = await credentials.tokenFor(SERVICE_IDS.agent, "x-agent");
    expect(jose.decodeJwt(named).agent).toBe("x-agent");
    expect(credentials.minted).toBe(2);
  });

  it("renews a token when a fifth of its lifetime is left, and after clear()", async () => {
    const { credentials } = await setUp(2);
    const first = await credentials.tokenFor(SERVICE_IDS.agent);
    await new Promise((r) => setTimeout(r, 1_700)); // past exp − 2 s / 5
    const second = await credentials.tokenFor(SERVICE_IDS.agent);
    expect(second).not.toBe(first);
    credentials.clear();
    expect(await credentials.tokenFor(SERVICE_IDS.agent)).not.toBe(second);
    expect(credentials.minted).toBe(3);
  });

  it("has no credential for services chat doesn't call", async () => {
    const { credentials } = await setUp(300);
    await expect(credentials.tokenFor(SERVICE_IDS.gateway)).rejects.toThrow(/no service credential/);
  });
});
