import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as jose from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { COUNTERSIGNATURE_TYP, countersignedClaims, type Witnessed } from "#kit/audit/index.js";
import type { TrustedKeys } from "#kit/service/index.js";
import { loadOrCreateCheckpointKey } from "./checkpoint-key.js";
import { witnessedCheckpointProblem } from "./countersignature-check.js";

/**
 * The MCP server's check of the witness's answer, on real keys: its own checkpoint key (ES256, a
 * PEM file) and two witness keys in a JWKS, one of which the revocation feed reported removed.
 */
const ISSUER = "http://identity.test";
const removed = new Set<string>();
let dir: string;
let current: { kid: string; key: jose.CryptoKey };
let old: { kid: string; key: jose.CryptoKey };
let trusted: TrustedKeys;
let entry: Omit<Witnessed, "countersignature">;

async function witnessKey(kid: string) {
  const { publicKey, privateKey } = await jose.generateKeyPair("ES256", { extractable: true });
  return { kid, key: privateKey, jwk: { ...(await jose.exportJWK(publicKey)), kid, alg: "ES256" } };
}

/** What the identity service's `countersign` makes, with `header` and `claims` changed as given. */
function countersign(
  by: { kid?: string; key: jose.CryptoKey },
  claims: Record<string, unknown> = {},
  typ = COUNTERSIGNATURE_TYP,
) {
  const payload = { ...countersignedClaims(ISSUER, entry), chain: "mcp-server", ...claims };
  return new jose.CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
    .setProtectedHeader({ alg: "ES256", typ, ...(by.kid === undefined ? {} : { kid: by.kid }) })
    .sign(by.key);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "countersignature-"));
  const signer = loadOrCreateCheckpointKey(join(dir, "checkpoint-key.pem"));
  entry = {
    checkpoint: signer.sign({ seq: 7, hash: "c".repeat(64), at: new Date(), reason: "rows" }),
    witnessId: 3,
    witnessedAt: new Date(),
  };
  const a = await witnessKey("current-key");
  const b = await witnessKey("old-key");
  current = a;
  old = b;
  trusted = {
    // Both keys still published, as in a JWKS a verifier cached before the removal.
    resolve: jose.createLocalJWKSet({ keys: [a.jwk, b.jwk] }),
    isKeyRemoved: (kid) => removed.has(kid),
  };
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the witness's countersignature, checked by the MCP server", () => {
  it("is accepted by a key of the set, for exactly the checkpoint the server signed", async () => {
    const w = { ...entry, countersignature: await countersign(current) };
    expect(await witnessedCheckpointProblem(w, { issuer: ISSUER, trusted })).toBeUndefined();
  });

  it("is refused by a key the feed reported removed, though the cached JWKS still holds it", async () => {
    const w = { ...entry, countersignature: await countersign(old) };
    expect(await witnessedCheckpointProblem(w, { issuer: ISSUER, trusted })).toBeUndefined();
    removed.add(old.kid);
    expect(await witnessedCheckpointProblem(w, { issuer: ISSUER, trusted })).toBe(
      "the witness's countersignature is by a signing key the identity service removed (old-key)",
    );
  });

  it("is refused without a kid, with a kid of no key, another typ or another checkpoint's claims", async () => {
    const problem = async (countersignature: string) =>
      witnessedCheckpointProblem({ ...entry, countersignature }, { issuer: ISSUER, trusted });
    expect(await problem(await countersign({ key: current.key }))).toBe(
      "the witness's countersignature names no key (kid)",
    );
    expect(await problem(await countersign({ kid: "nobody", key: current.key }))).toMatch(
      /^the witness's countersignature does not verify with its published keys/,
    );
    expect(await problem(await countersign(current, {}, "JWT"))).toBe(
      `the countersignature's typ is not ${COUNTERSIGNATURE_TYP}`,
    );
    expect(await problem(await countersign(current, { seq: 8 }))).toBe(
      "the countersignature is for another checkpoint (seq differ)",
    );
    expect(await problem("not.a.jws")).toBe("the witness's countersignature is not a JWS");
  });
});
