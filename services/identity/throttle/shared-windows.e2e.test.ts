import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  dropSchema,
  freshSchema,
  type IdentityReplica,
  startIdentityReplica,
  testDatabaseUrl,
} from "../revocation-feed/testing/identity-replica.js";

async function codeOf(call: Promise<unknown>): Promise<Code | "ok"> {
  try {
    await call;
    return "ok";
  } catch (err) {
    return ConnectError.from(err).code;
  }
}

/**
 * Two identity replicas on one PostgreSQL schema, as behind a balancer: a guesser alternating
 * between them gets no more tries than from one (docs/identity.md, "Throttling"). PostgreSQL only:
 * PGlite is one process by construction.
 */
describe.skipIf(!testDatabaseUrl())("throttles shared by two identity replicas", { timeout: 90_000 }, () => {
  const schema = freshSchema();
  let a: IdentityReplica;
  let b: IdentityReplica;
  // Another deployment in its own schema of the same database: it hears the same channel.
  const otherSchema = freshSchema();
  let other: IdentityReplica;
  beforeAll(async () => {
    other = await startIdentityReplica({ heartbeatMs: 1_000, schema: otherSchema, name: "identity-other" });
    a = await startIdentityReplica({ heartbeatMs: 1_000, schema, name: "identity-a" });
    b = await startIdentityReplica({
      heartbeatMs: 1_000,
      schema,
      name: "identity-b",
      passwords: a.passwords,
    });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await other?.close();
    await dropSchema(schema);
    await dropSchema(otherSchema);
  });

  it("failed logins counted on either replica refuse the next guess on both, and on a replica started later", async () => {
    const limit = a.config.LOGIN_MAX_FAILURES_PER_EMAIL;
    const guess = (replica: IdentityReplica) =>
      codeOf(replica.auth.login({ email: "viewer@company.com", password: "not-the-password" }));
    const answers: (Code | "ok")[] = [];
    for (let i = 0; i < limit; i++) {
      answers.push(await guess(i % 2 === 0 ? a : b));
      // Each failure reaches the other replica a moment after it commits.
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(answers).toEqual(Array.from({ length: limit }, () => Code.Unauthenticated));
    // Past the limit on both: alone, each replica has seen only about half the failures.
    await expect.poll(() => guess(a), { timeout: 10_000 }).toBe(Code.ResourceExhausted);
    await expect.poll(() => guess(b), { timeout: 10_000 }).toBe(Code.ResourceExhausted);
    const lines = [...a.logs.lines, ...b.logs.lines].filter((l) => l.includes('"msg":"login throttled"'));
    console.log(`after ${limit} failures split over two replicas: ${lines.length} throttled answers`);
    // The deployment in the other schema counted none of them: its first wrong guess is just wrong.
    expect(await guess(other)).toBe(Code.Unauthenticated);

    // A replica started now reads the counted failures from the table.
    const c = await startIdentityReplica({
      heartbeatMs: 1_000,
      schema,
      name: "identity-c",
      passwords: a.passwords,
    });
    try {
      expect(await guess(c)).toBe(Code.ResourceExhausted);
    } finally {
      await c.close();
    }
  });
});
