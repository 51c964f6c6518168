import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { decodeProtectedHeader } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditWitnessService } from "#gen/supportext/audit/v1/witness_pb.js";
import { createServiceClient } from "#kit/client/index.js";
import { type Config, parseConfig } from "#kit/config/index.js";
import type { Database } from "#kit/db/index.js";
import { configuredClientCredentials } from "#kit/service/index.js";
import { freePort } from "#kit/testing/free-port.js";
import { captureLogs } from "#kit/testing/log-capture.js";
import { runKeyCommand } from "#services/identity/keys/key-commands.js";
import { startTestIdentity, type TestIdentity } from "#services/identity/testing/test-identity.js";
import { loadOrCreateCheckpointKey } from "#services/mcp-server/audit/witness/checkpoint-key.js";
import { createCheckpointer } from "#services/mcp-server/audit/witness/checkpointer.js";
import { configuredWitness } from "#services/mcp-server/audit/witness/configured-witness.js";
import { readAuditHead } from "#services/mcp-server/data/audit-head.js";
import { appendAuditEntry } from "#services/mcp-server/data/audit-log.js";
import { openMcpDatabase } from "#services/mcp-server/data/open-database.js";
import { copyAuditTrail } from "#services/mcp-server/testing/copy-audit-trail.js";
import { runAuditCli } from "#services/mcp-server/testing/run-audit-cli.js";
import { TAMPERING, type Tamper } from "#services/mcp-server/testing/tamper.js";

/**
 * Issue 19, item 4: the audit trail anchored outside its own database. A real identity service is
 * the witness; the MCP side's real checkpointer signs the chain's head after every 5 rows and at
 * shutdown; copies of that trail are tampered with in 15 ways and the real `npm run audit --
 * --verify` (read-only, default flags) must name every one, in one line, without a stack trace.
 * (PGlite only here: DATABASE_URL is not set on this host.)
 */
const ROWS = 12;
let identity: TestIdentity;
let env: Record<string, string | undefined>;
let config: Config;
let original: Database;
const dirs: string[] = [];

const tempDir = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};

beforeAll(async () => {
  identity = await startTestIdentity({ LOG_LEVEL: "warn" });
  const dataDir = tempDir("mcp-witness-");
  env = {
    DATA_DIR: dataDir,
    IDENTITY_URL: identity.url,
    AUTH_ISSUER: identity.config.AUTH_ISSUER,
    AUTH_JWKS_URL: `${identity.url}/.well-known/jwks.json`,
    AUTH_TOKEN_URL: `${identity.url}/oauth2/token`,
    MCP_CLIENT_SECRET: identity.env.MCP_CLIENT_SECRET,
  };
  config = parseConfig({ NODE_ENV: "test", ...env });
  original = await openMcpDatabase(config);
  const logs = captureLogs("mcp-server", "info");
  const checkpointer = createCheckpointer({
    db: original,
    witness: configuredWitness(config).client,
    signer: loadOrCreateCheckpointKey(join(dataDir, "key.pem")),
    logger: logs.logger,
    everyRows: 5,
    everyMs: 600_000,
  });
  await checkpointer.start();
  for (let i = 1; i <= ROWS; i++) {
    await original.transaction(async (tx) =>
      appendAuditEntry(tx, {
        userId: `u-${i}`,
        email: `user${i}@company.com`,
        actorSub: "mcp-gateway",
        actorAgent: "support-assistant",
        actorChain: [{ sub: "mcp-gateway" }, { sub: "agent", agent: "support-assistant" }],
        anonymous: false,
        tool: i % 2 ? "get_ticket" : "update_ticket",
        arguments: { ticket_id: i },
        outcome: i % 3 ? "ok" : "refused",
        errorCode: null,
        error: null,
        durationMs: i,
        traceId: null,
        requestId: null,
        sessionId: null,
      }),
    );
    checkpointer.appended();
  }
  await checkpointer.close();
  const witnessed = logs.records().filter((r) => r.msg === "audit checkpoint witnessed");
  // Rows go on being appended while a checkpoint is made, so how many "rows" ones there are varies.
  const reasons = witnessed.map((r) => r.reason);
  expect(reasons[0]).toBe("rows");
  expect(reasons.at(-1)).toBe("shutdown");
}, 180_000);

afterAll(async () => {
  await original?.close();
  await identity?.dispose();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** A copy of the witnessed trail in a DATA_DIR of its own, changed by `tamper`, and the CLI's verify on it. */
async function verifyCopy(tamper: Tamper, extraEnv: Record<string, string> = {}) {
  const dataDir = tempDir("mcp-witness-copy-");
  const copy = await openMcpDatabase({ DATA_DIR: dataDir, DATABASE_URL: undefined });
  await copyAuditTrail(original, copy);
  await tamper(copy);
  await copy.close();
  const out = await runAuditCli(["--verify"], { ...env, DATA_DIR: dataDir, ...extraEnv });
  return { ...out, dataDir };
}

const STACK = /^\s+at /m;

const kidOf = (jws: string | undefined) => (jws ? decodeProtectedHeader(jws).kid : undefined);

/** `fn` over `items`, at most `limit` at once; results in the items' order. */
async function mapConcurrently<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>) {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await fn(items[index] as T);
      }
    }),
  );
  return results;
}

describe("the audit trail against its witness", { timeout: 600_000 }, () => {
  it("an intact copy verifies: every row witnessed, exit 0", async () => {
    const head = await readAuditHead(original);
    const out = await verifyCopy(async () => undefined);
    expect(out.stderr).toBe("");
    expect(out.stdout).toContain(`${ROWS} rows, chain intact, head ${head.hash}\n`);
    expect(out.stdout).toMatch(
      new RegExp(
        `^witness: checkpoint seq ${ROWS} \\(shutdown at .*, witness entry \\d+\\) hash ${head.hash}$`,
        "m",
      ),
    );
    expect(out.stdout).toContain("every row is witnessed");
    expect(out.code).toBe(0);
  });

  it("detects all 15 kinds of tampering with the default verify command, each in one line", async () => {
    const table: [string, string][] = [];
    // Each copy is its own data directory and CLI process: three at a time (each mostly waits on a
    // child process starting), checked in the table's order.
    const outs = await mapConcurrently(TAMPERING, 3, ([, tamper]) => verifyCopy(tamper));
    for (const [index, [kind]] of TAMPERING.entries()) {
      const out = outs[index] as Awaited<ReturnType<typeof verifyCopy>>;
      expect(out.stderr, kind).not.toMatch(STACK);
      expect(out.stdout, kind).toMatch(/^audit chain NOT intact: \d+ problem\(s\)/);
      expect(out.code, kind).toBe(1);
      const first = out.stdout.split("\n").find((l) => l.startsWith("  ")) ?? "";
      table.push([kind, first.trim()]);
      if (kind === "head nulled") {
        // Verify only reads: the unsealed head is still unsealed afterwards.
        const again = await openMcpDatabase({ DATA_DIR: out.dataDir, DATABASE_URL: undefined });
        expect((await readAuditHead(again)).hash).toBeNull();
        await again.close();
      }
    }
    const width = Math.max(...table.map(([k]) => k.length));
    process.stdout.write(
      `\ntampering kind → npm run audit -- --verify (first problem line)\n${table.map(([k, m]) => `  ${k.padEnd(width)}  →  ${m}`).join("\n")}\n\n`,
    );
    expect(table).toHaveLength(15);
    expect(table.every(([, m]) => m !== "")).toBe(true);
  });

  it("says clearly when the witness is unreachable, and does not pass for a full check (exit 3)", async () => {
    const port = await freePort();
    const out = await verifyCopy(async () => undefined, { IDENTITY_URL: `http://127.0.0.1:${port}` });
    expect(out.stdout).toContain(
      `witness UNREACHABLE: the audit witness at http://127.0.0.1:${port} is unreachable`,
    );
    expect(out.stdout).toContain("the chain was checked against itself only");
    expect(out.stderr).not.toMatch(STACK);
    expect(out.code).toBe(3);
  });

  it("at start, a rewritten chain is reported loudly and never checkpointed or re-sealed", async () => {
    const dataDir = tempDir("mcp-witness-start-");
    const copy = await openMcpDatabase({ DATA_DIR: dataDir, DATABASE_URL: undefined });
    await copyAuditTrail(original, copy);
    const recompute = TAMPERING.find(([k]) => k === "full recompute")?.[1] as Tamper;
    await recompute(copy);
    const logs = captureLogs("mcp-server", "info");
    const witness = configuredWitness(config).client;
    const before = await witness.latest();
    const checkpointer = createCheckpointer({
      db: copy,
      witness,
      signer: loadOrCreateCheckpointKey(join(dataDir, "key.pem")),
      logger: logs.logger,
      everyRows: 1,
      everyMs: 600_000,
    });
    await checkpointer.start();
    await checkpointer.close();
    const errors = logs.records().filter((r) => r.level === "error");
    expect(String(errors[0]?.msg)).toMatch(
      /^audit chain NOT intact: .*checkpoints suspended, nothing re-sealed/,
    );
    expect(checkpointer.suspended()).toBeDefined();
    expect((await witness.latest())?.witnessId).toBe(before?.witnessId);
    await copy.close();
  });

  it("the witness moves only forward, and only for the MCP server", async () => {
    const witness = configuredWitness(config).client;
    const latest = await witness.latest();
    const signer = loadOrCreateCheckpointKey(join(tempDir("mcp-witness-key-"), "key.pem"));
    const back = await witness
      .record(signer.sign({ seq: 3, hash: "a".repeat(64), at: new Date(), reason: "interval" }))
      .catch((e: unknown) => e as Error);
    expect(String(back)).toMatch(
      /failed_precondition: checkpoint refused: seq 3 is behind the witnessed seq 12/,
    );
    const other = await witness
      .record(
        signer.sign({
          seq: latest?.checkpoint.seq ?? 0,
          hash: "b".repeat(64),
          at: new Date(),
          reason: "interval",
        }),
      )
      .catch((e: unknown) => e as Error);
    expect(String(other)).toMatch(/seq 12 was witnessed with another hash/);

    // Another service's credential is refused by the caller rule (services/identity/caller-rules.ts).
    const wrongSecret = configuredWitness(
      parseConfig({ NODE_ENV: "test", ...env, MCP_CLIENT_SECRET: "x".repeat(12) }),
    ).client;
    const refused = await wrongSecret.latest().catch((e: unknown) => e as Error);
    expect(String(refused)).toMatch(/unreachable \(unavailable: service credential for identity/);
    const chat = createServiceClient(AuditWitnessService, identity.url, {
      credentials: {
        source: configuredClientCredentials(
          parseConfig({ ...identity.env, AUTH_TOKEN_URL: env.AUTH_TOKEN_URL }),
          "chat",
        ),
        audience: "identity",
      },
    });
    const denied = await chat.getLatestCheckpoint({}).catch((e: unknown) => ConnectError.from(e));
    expect(denied).toBeInstanceOf(ConnectError);
    expect((denied as ConnectError).code).toBe(Code.PermissionDenied);

    // Append-only in the identity database itself.
    await expect(identity.running.database.query("DELETE FROM audit_checkpoints")).rejects.toThrow(
      /append-only/,
    );
  });

  it("still verifies once the witness's signing key is rotated and removed: the answer is countersigned by a key the witness publishes", async () => {
    const witness = configuredWitness(config).client;
    const before = await witness.latest();
    const oldKid = kidOf(before?.countersignature);
    expect(oldKid).toBeDefined();
    // What an operator does with `npm run rotate-keys -- --now` and then `-- --remove <kid>`.
    await runKeyCommand(identity.running.database, { kind: "rotate", now: true }, identity.config);
    await runKeyCommand(
      identity.running.database,
      { kind: "remove", kid: oldKid as string },
      identity.config,
    );
    const published = async () =>
      ((await (await fetch(env.AUTH_JWKS_URL as string)).json()) as { keys: { kid: string }[] }).keys.map(
        (k) => k.kid,
      );
    await expect.poll(published, { timeout: 30_000 }).not.toContain(oldKid);

    // A new process (`npm run audit`), so a credential of its own, signed by the new key.
    const after = await configuredWitness(config).client.latest();
    expect(after?.witnessId).toBe(before?.witnessId);
    expect(after?.checkpoint).toEqual(before?.checkpoint);
    expect((await published()).includes(kidOf(after?.countersignature) ?? "")).toBe(true);

    const out = await verifyCopy(async () => undefined);
    expect(out.stderr).toBe("");
    expect(out.stdout).toContain("every row is witnessed");
    expect(out.code).toBe(0);
  });
});
