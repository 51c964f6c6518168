import { Code, ConnectError } from "@connectrpc/connect";
import * as jose from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runRotateKeys } from "./testing/run-rotate-keys.js";
import {
  bearer,
  startTestIdentity,
  TEST_ISSUER,
  TEST_MCP_RESOURCE,
  type TestIdentity,
} from "./testing/test-identity.js";
import { exchangeForm, postTokenRequest } from "./testing/token-request.js";

const onPostgres = Boolean(process.env.DATABASE_URL);

/** The kids the JWKS publishes, sorted (the document lists them by when they start signing). */
async function jwksKids(chat: TestIdentity): Promise<string[]> {
  const jwks = (await (await fetch(`${chat.url}/.well-known/jwks.json`)).json()) as jose.JSONWebKeySet;
  return jwks.keys.map((k) => k.kid ?? "").sort();
}
const sorted = (...kids: (string | undefined)[]) => kids.map((k) => k ?? "").sort();

async function loginAdmin(chat: TestIdentity): Promise<string> {
  const res = await chat.auth.login({ email: "admin@company.com", password: chat.passwords.admin });
  return res.tokens?.accessToken ?? "";
}

const kidOf = (token: string) => jose.decodeProtectedHeader(token).kid;

/** Verifies like any other service would: a fresh remote JWKS from the served document. */
async function joseVerifies(chat: TestIdentity, token: string): Promise<true | string> {
  try {
    await jose.jwtVerify(token, jose.createRemoteJWKSet(new URL(`${chat.url}/.well-known/jwks.json`)), {
      issuer: TEST_ISSUER,
      audience: chat.config.API_AUDIENCE,
      typ: "at+jwt",
    });
    return true;
  } catch (err) {
    return (err as Error).name;
  }
}

async function whoAmIError(chat: TestIdentity, token: string): Promise<string | undefined> {
  try {
    await chat.auth.whoAmI({}, bearer(token));
    return undefined;
  } catch (err) {
    const ce = ConnectError.from(err);
    expect(ce.code).toBe(Code.Unauthenticated);
    return ce.rawMessage;
  }
}

function addedKid(stdout: string): string {
  const kid = /added key (\S+):/.exec(stdout)?.[1];
  if (!kid) throw new Error(`rotate-keys printed no new key:\n${stdout}`);
  return kid;
}

describe("signing keys: rotation with `npm run rotate-keys`", () => {
  let chat: TestIdentity;
  beforeAll(async () => {
    chat = await startTestIdentity();
  });
  afterAll(() => chat?.dispose());

  it("rotates: old tokens stay valid, new tokens use the new key; a removed key's tokens fail", async () => {
    const oldToken = await loginAdmin(chat);
    const oldKid = kidOf(oldToken);
    expect(await jwksKids(chat)).toEqual(sorted(oldKid));

    // The embedded database serves one process, so the command runs while chat is stopped
    // (on PostgreSQL it could run live; see the next test).
    await chat.stop();
    const delayed = await runRotateKeys(chat, []);
    expect(delayed.code, delayed.stderr).toBe(0);
    const nextKid = addedKid(delayed.stdout);
    await chat.start();
    // Published at once, but not signing yet: verifiers get to learn it first.
    expect(await jwksKids(chat)).toEqual(sorted(oldKid, nextKid));
    expect(kidOf(await loginAdmin(chat))).toBe(oldKid);

    await chat.stop();
    const now = await runRotateKeys(chat, ["--now"]);
    expect(now.code, now.stderr).toBe(0);
    const newKid = addedKid(now.stdout);
    expect(now.stdout).toContain(`${newKid}  ES256  signing`);
    await chat.start();
    expect(await jwksKids(chat)).toEqual(sorted(oldKid, nextKid, newKid));

    const newToken = await loginAdmin(chat);
    expect(kidOf(newToken)).toBe(newKid);
    // Old tokens remain valid until they expire: at the edge, for a plain JWKS client, and for exchange.
    expect(await whoAmIError(chat, oldToken)).toBeUndefined();
    expect(await joseVerifies(chat, oldToken)).toBe(true);
    const auth = { basic: [chat.config.GATEWAY_CLIENT_ID, chat.config.GATEWAY_CLIENT_SECRET] } as const;
    const exchanged = await postTokenRequest(
      chat.url,
      exchangeForm({ subjectToken: oldToken, resource: TEST_MCP_RESOURCE }),
      auth,
    );
    expect(exchanged.status).toBe(200);
    expect(kidOf(exchanged.body.access_token as string)).toBe(newKid);

    // Retire the old key (e.g. compromised): its tokens fail everywhere, the new key's pass.
    await chat.stop();
    const removed = await runRotateKeys(chat, ["--remove", oldKid ?? ""]);
    expect(removed.code, removed.stderr).toBe(0);
    await chat.start();
    expect(await jwksKids(chat)).toEqual(sorted(nextKid, newKid));
    expect(await whoAmIError(chat, oldToken)).toMatch(/^key_removed: /);
    expect(await joseVerifies(chat, oldToken)).toBe("JWKSNoMatchingKey");
    const refused = await postTokenRequest(
      chat.url,
      exchangeForm({ subjectToken: oldToken, resource: TEST_MCP_RESOURCE }),
      auth,
    );
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({
      error: "invalid_grant",
      error_description: expect.stringMatching(/^subject_token: key_removed/),
    });
    expect(await whoAmIError(chat, newToken)).toBeUndefined();
    expect(await joseVerifies(chat, newToken)).toBe(true);
  }, 120_000); // three runs of the command (a Node process each) and four chat starts

  it("refuses to remove the only key that can sign, and unknown kids", async () => {
    await chat.stop();
    try {
      const list = await runRotateKeys(chat, ["--list"]);
      const signing = /^\s+(\S+)\s+ES256\s+signing$/m.exec(list.stdout)?.[1] ?? "";
      const keys = [...list.stdout.matchAll(/^\s+(\S+)\s+ES256\s+/gm)].map((m) => m[1] ?? "");
      // Remove every other key first, then the last one must be refused.
      for (const kid of keys.filter((k) => k !== signing)) {
        expect((await runRotateKeys(chat, ["--remove", kid])).code).toBe(0);
      }
      const last = await runRotateKeys(chat, ["--remove", signing]);
      expect(last.code).toBe(1);
      expect(last.stderr).toMatch(/no other key could sign/);
      const unknown = await runRotateKeys(chat, ["--remove", "no-such-kid"]);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toMatch(/no key with kid no-such-kid/);
    } finally {
      await chat.start();
    }
  }, 60_000); // two runs of the command and a chat start

  it.skipIf(onPostgres)(
    "refuses to open the embedded database while the identity service runs (PGlite serves one process)",
    async () => {
      const res = await runRotateKeys(chat, ["--list"]);
      expect(res.code).toBe(1);
      expect(res.stderr).toMatch(/identity\.lock is held by running process \d+/);
      // Chat is unharmed.
      expect(await whoAmIError(chat, await loginAdmin(chat))).toBeUndefined();
    },
  );
});

describe.skipIf(!onPostgres)("signing keys on PostgreSQL: live rotation", () => {
  let chat: TestIdentity;
  beforeAll(async () => {
    chat = await startTestIdentity({}, { keyReloadIntervalMs: 200 });
  });
  afterAll(() => chat?.dispose());

  async function until(predicate: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (!(await predicate())) {
      if (Date.now() > deadline) throw new Error("condition not reached in 10 s");
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it("the running process picks up added and removed keys; a removed key's cached tokens stop working", async () => {
    const oldToken = await loginAdmin(chat);
    const oldKid = kidOf(oldToken) ?? "";
    // Verified once: now in the verifier's cache, which removal must not bypass.
    expect(await whoAmIError(chat, oldToken)).toBeUndefined();

    const added = await runRotateKeys(chat, ["--now"]);
    expect(added.code, added.stderr).toBe(0);
    const newKid = addedKid(added.stdout);
    await until(async () => (await jwksKids(chat)).includes(newKid));
    const newToken = await loginAdmin(chat);
    expect(kidOf(newToken)).toBe(newKid);

    const removed = await runRotateKeys(chat, ["--remove", oldKid]);
    expect(removed.code, removed.stderr).toBe(0);
    await until(async () => !(await jwksKids(chat)).includes(oldKid));
    expect(await whoAmIError(chat, oldToken)).toMatch(/^key_removed: /);
    expect(await whoAmIError(chat, newToken)).toBeUndefined();
  });
});
