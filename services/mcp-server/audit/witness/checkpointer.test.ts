import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import type { SignedCheckpoint, Witnessed } from "#kit/audit/index.js";
import type { Database } from "#kit/db/index.js";
import { type TestDatabase, testBackends } from "#kit/db/testing/test-backends.js";
import { captureLogs, type LogCapture } from "#kit/testing/log-capture.js";
import { readAuditHead } from "../../data/audit-head.js";
import { type AuditEntry, appendAuditEntry } from "../../data/audit-log.js";
import { MIGRATIONS } from "../../data/migrations.js";
import { auditEntry } from "../../testing/audit-entry.js";
import { createAuditRecorder } from "../audit-recorder.js";
import { type CheckpointSigner, loadOrCreateCheckpointKey } from "./checkpoint-key.js";
import { createCheckpointer } from "./checkpointer.js";
import { CheckpointRefusedError, type WitnessClient, WitnessUnavailableError } from "./witness-client.js";

/** Conditions are awaited, never timed: generous for a busy 2-core machine. */
const SLOW_MACHINE = { timeout: 15_000 };

/**
 * The MCP server's checkpointer (docs/mcp-server.md, "Witnessed checkpoints") over its real audit
 * table on PGlite and on DATABASE_URL's PostgreSQL, with an in-memory witness that keeps what the
 * identity service's would (it refuses a checkpoint that moves its record back) and can be made
 * unreachable or refuse once: a checkpoint every `everyRows` rows and every `everyMs`, a closing one
 * at shutdown, a witness outage logged once and waited out, a refusal answered by asking the witness
 * again, and a chain that no longer extends what the witness holds suspending every checkpoint.
 * (audit-witness.test.ts runs it against the real identity service.)
 */
interface FakeWitness extends WitnessClient {
  readonly recorded: Witnessed[];
  down: boolean;
  refuseNext: boolean;
  latestCalls: number;
  /** How many checkpoints it held once the checkpointer had started. */
  startedWith: number;
}

function fakeWitness(): FakeWitness {
  const recorded: Witnessed[] = [];
  const witness: FakeWitness = {
    recorded,
    down: false,
    refuseNext: false,
    latestCalls: 0,
    startedWith: 0,
    async latest() {
      witness.latestCalls++;
      if (witness.down) throw new WitnessUnavailableError("the audit witness is unreachable");
      return recorded.at(-1);
    },
    async record(checkpoint: SignedCheckpoint) {
      if (witness.down) throw new WitnessUnavailableError("the audit witness is unreachable");
      const last = recorded.at(-1);
      if (witness.refuseNext || (last && checkpoint.seq < last.checkpoint.seq)) {
        witness.refuseNext = false;
        throw new CheckpointRefusedError("the audit witness refused the checkpoint");
      }
      const w = {
        checkpoint,
        witnessId: recorded.length + 1,
        witnessedAt: new Date(),
        countersignature: "cs",
      };
      recorded.push(w);
      return w;
    },
  };
  return witness;
}

const entry = (n: number): AuditEntry =>
  auditEntry({ userId: `u-${n}`, email: `user${n}@company.com`, arguments: { ticket_id: n } });

const EVERY_MS = 60_000;
const keyDir = mkdtempSync(join(tmpdir(), "mcp-checkpointer-"));
afterAll(() => rmSync(keyDir, { recursive: true, force: true }));

describe.each(testBackends("mcp-server", MIGRATIONS))("the audit checkpointer on $name", (backend) => {
  let handle: TestDatabase;
  let db: Database;
  let signer: CheckpointSigner;
  let rows = 0;
  const closers: (() => Promise<void>)[] = [];

  /** Appends `n` audit rows, telling `appended` after each one as the recorder does. */
  const append = async (n: number, appended?: () => void) => {
    for (let i = 0; i < n; i++) {
      await db.transaction(async (tx) => appendAuditEntry(tx, entry(++rows)));
      appended?.();
    }
  };
  const setUp = (witness: FakeWitness, everyRows = 3, outageRetryMs?: number) => {
    const logs = captureLogs("mcp-server");
    const checkpointer = createCheckpointer({
      db,
      witness,
      signer,
      logger: logs.logger,
      everyRows,
      everyMs: EVERY_MS,
      ...(outageRetryMs === undefined ? {} : { outageRetryMs }),
    });
    closers.push(() => checkpointer.close());
    return { checkpointer, logs };
  };
  /** Starts `checkpointer`, noting what the witness holds then. */
  const started = async (checkpointer: { start(): Promise<void> }, witness: FakeWitness) => {
    await checkpointer.start();
    witness.startedWith = witness.recorded.length;
  };
  /** Runs `fn` with `db` on a new, empty audit table, then puts the shared one back. */
  const onFreshTable = async (fn: () => Promise<void>) => {
    const shared = db;
    const fresh = await backend.open();
    db = fresh.db;
    try {
      await fn();
    } finally {
      for (const close of closers.splice(0)) await close().catch(() => undefined);
      db = shared;
      await fresh.close();
    }
  };
  const messages = (logs: LogCapture, msg: string) => logs.records().filter((r) => r.msg === msg);
  /** What the witness recorded after `from` (a start on rows earlier tests left is checkpointed first). */
  const reasons = (w: FakeWitness, from = w.startedWith) =>
    w.recorded.slice(from).map((r) => `${r.checkpoint.reason}@${r.checkpoint.seq}`);

  beforeAll(async () => {
    handle = await backend.open();
    db = handle.db;
    signer = loadOrCreateCheckpointKey(join(keyDir, `${backend.name}.pem`));
  });
  afterEach(async () => {
    vi.useRealTimers();
    for (const close of closers.splice(0)) await close().catch(() => undefined);
  });
  afterAll(async () => {
    await handle?.close();
  });

  it("signs the head every `everyRows` rows and at shutdown, once: a second close adds nothing", async () => {
    const witness = fakeWitness();
    const { checkpointer, logs } = setUp(witness);
    await started(checkpointer, witness);
    // An empty table against an empty witness: nothing to sign yet.
    expect(rows).toBe(0);
    expect(witness.recorded).toEqual([]);
    expect(messages(logs, "audit chain intact against the witness")).toHaveLength(1);
    await append(3, () => checkpointer.appended());
    await expect.poll(() => reasons(witness), SLOW_MACHINE).toEqual([`rows@${rows}`]);
    // Fewer rows than `everyRows` since: no checkpoint until shutdown.
    await append(2, () => checkpointer.appended());
    await checkpointer.close();
    expect(reasons(witness)).toEqual([`rows@${rows - 2}`, `shutdown@${rows}`]);
    await checkpointer.close();
    expect(reasons(witness)).toHaveLength(2);
    // Every checkpoint is the server's signature of the head as it stood.
    const head = await readAuditHead(db);
    expect(witness.recorded.at(-1)?.checkpoint).toMatchObject({
      seq: head.seq,
      hash: head.hash,
      signerKey: signer.publicKey,
    });
  });

  it("a row counted inside its caller's transaction (the recorder's `within`): the checkpoint runs outside it, and the rows are signed", async () => {
    const witness = fakeWitness();
    const { checkpointer, logs } = setUp(witness, 1);
    await started(checkpointer, witness);
    await db.transaction(async (tx) => {
      await appendAuditEntry(tx, entry(++rows));
      checkpointer.appended();
      // The transaction goes on a moment after the row was counted, as a tool call's does.
      await tx.query("SELECT pg_sleep(0.05)");
    });
    // The checkpoint it queued ran (close waits for it) and signed the head as committed: on
    // PGlite after the transaction, on PostgreSQL maybe before it (then a later one signs the row).
    await checkpointer.close();
    expect(messages(logs, "audit checkpoint failed")).toEqual([]);
    expect(reasons(witness).at(-1)).toBe(`shutdown@${rows}`);
  });

  it("counts rows from the last checkpoint: rows that arrived while it was made are not counted twice", async () => {
    const witness = fakeWitness();
    const { checkpointer } = setUp(witness, 4);
    await started(checkpointer, witness);
    // Many rows before the queued checkpoint runs: one checkpoint covers them all.
    await append(9);
    for (let i = 0; i < 9; i++) checkpointer.appended();
    await expect.poll(() => reasons(witness), SLOW_MACHINE).toEqual([`rows@${rows}`]);
    await append(3, () => checkpointer.appended());
    await new Promise((r) => setTimeout(r, 200));
    expect(reasons(witness)).toHaveLength(1);
    await append(1, () => checkpointer.appended());
    await expect.poll(() => reasons(witness), SLOW_MACHINE).toEqual([`rows@${rows - 4}`, `rows@${rows}`]);
  });

  it("signs at every interval when rows came since the last checkpoint, and only then", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const witness = fakeWitness();
    const { checkpointer } = setUp(witness, 1_000);
    await started(checkpointer, witness);
    vi.advanceTimersByTime(EVERY_MS);
    await new Promise((r) => setTimeout(r, 100));
    expect(reasons(witness)).toEqual([]);
    await append(2, () => checkpointer.appended());
    vi.advanceTimersByTime(EVERY_MS);
    await expect.poll(() => reasons(witness), SLOW_MACHINE).toEqual([`interval@${rows}`]);
  });

  it("stop (a start-up that failed after start): no interval checkpoint after it, and no closing one", async () => {
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    const witness = fakeWitness();
    const { checkpointer } = setUp(witness, 1_000);
    await started(checkpointer, witness);
    await append(2, () => checkpointer.appended());
    await checkpointer.stop();
    vi.advanceTimersByTime(EVERY_MS * 3);
    // Whatever the intervals would have queued is finished before the check.
    await checkpointer.stop();
    expect(reasons(witness)).toEqual([]);
  });

  it("waits out a witness outage, logging it once per outage, and signs when it answers again", async () => {
    const witness = fakeWitness();
    witness.down = true;
    const { checkpointer, logs } = setUp(witness, 1, 300);
    await expect(started(checkpointer, witness)).resolves.toBeUndefined();
    // Rows keep coming (a checkpoint due after each): those after the wait ask again, refused quietly.
    await expect
      .poll(async () => {
        await append(1, () => checkpointer.appended());
        return witness.latestCalls;
      }, SLOW_MACHINE)
      .toBeGreaterThanOrEqual(3);
    const unreachable = "audit witness unreachable: checkpoints wait until it answers";
    expect(messages(logs, unreachable)).toHaveLength(1);
    expect(checkpointer.suspended()).toBeUndefined();
    witness.down = false;
    // Rows keep coming: once the wait is over, one of them reaches the witness, which signs.
    await expect
      .poll(async () => {
        await append(1, () => checkpointer.appended());
        return reasons(witness).length;
      }, SLOW_MACHINE)
      .toBe(1);
    expect(reasons(witness)[0]).toMatch(/^rows@\d+$/);
    witness.down = true;
    await append(1, () => checkpointer.appended());
    await expect.poll(() => messages(logs, unreachable), SLOW_MACHINE).toHaveLength(2);
  });

  it("does not ask an unreachable witness once per row: rows wait, longer after each failure", async () => {
    const witness = fakeWitness();
    witness.down = true;
    const { checkpointer } = setUp(witness, 1, 60_000);
    await started(checkpointer, witness);
    const asked = witness.latestCalls;
    await append(40, () => checkpointer.appended());
    await checkpointer.stop();
    // Forty rows, a checkpoint due after each, within the first wait: the witness was not asked again.
    expect(witness.latestCalls).toBe(asked);
  });

  it("asks the witness again after it refused a checkpoint, then signs", async () => {
    const witness = fakeWitness();
    const { checkpointer, logs } = setUp(witness, 1);
    await started(checkpointer, witness);
    const asked = witness.latestCalls;
    witness.refuseNext = true;
    await append(1, () => checkpointer.appended());
    await expect
      .poll(() => messages(logs, "audit checkpoint refused by the witness"), SLOW_MACHINE)
      .toHaveLength(1);
    expect(reasons(witness)).toEqual([]);
    await append(1, () => checkpointer.appended());
    await expect.poll(() => reasons(witness), SLOW_MACHINE).toEqual([`rows@${rows}`]);
    expect(witness.latestCalls).toBe(asked + 1);
  });

  // Last: it breaks this database's chain for good.
  it("suspends, loudly and for good, when the chain no longer extends what the witness holds", async () => {
    const witness = fakeWitness();
    const running = setUp(witness, 1);
    await started(running.checkpointer, witness);
    await append(1, () => running.checkpointer.appended());
    await expect.poll(() => reasons(witness), SLOW_MACHINE).toEqual([`rows@${rows}`]);
    const witnessedSeq = rows;
    const held = witness.recorded.length;
    // Someone with write access rewrites the witnessed row, and its hash with it.
    await db.query("UPDATE audit_log SET tool = 'delete_ticket', row_hash = $2 WHERE seq = $1", [
      witnessedSeq,
      "f".repeat(64),
    ]);
    await append(1, () => running.checkpointer.appended());
    await expect
      .poll(() => running.checkpointer.suspended())
      .toMatch(new RegExp(`no longer extends the witnessed checkpoint at seq ${witnessedSeq}`));
    const loud = `audit chain NOT intact: ${running.checkpointer.suspended()}; checkpoints suspended, nothing re-sealed (run npm run audit -- --verify)`;
    await append(1, () => running.checkpointer.appended());
    await running.checkpointer.close();
    expect(witness.recorded).toHaveLength(held);
    // Said once, not again at every later checkpoint: it stays suspended until an operator looks.
    expect(messages(running.logs, loud)).toHaveLength(1);

    // A server starting on that table finds it against the witness and signs nothing either.
    const restarted = setUp(witness, 1);
    await started(restarted.checkpointer, witness);
    expect(restarted.checkpointer.suspended()).toMatch(/problem\(s\) against the witnessed checkpoint/);
    await append(1, () => restarted.checkpointer.appended());
    await restarted.checkpointer.close();
    expect(witness.recorded).toHaveLength(held);
    expect(
      restarted.logs.records().filter((r) => String(r.msg).startsWith("audit chain NOT intact")),
    ).toHaveLength(1);
  });

  it("a clean stop, a start, rows, then a crash: the start was witnessed, so the next start finds the rows the server wrote, not rows written after shutdown", async () => {
    // A table of its own: the test before this one left a rewritten row.
    await onFreshTable(async () => {
      const witness = fakeWitness();
      const first = setUp(witness);
      await started(first.checkpointer, witness);
      await append(1, () => first.checkpointer.appended());
      await first.checkpointer.close();
      const closedAt = (await readAuditHead(db)).seq;
      expect(witness.recorded.at(-1)?.checkpoint).toMatchObject({ reason: "shutdown", seq: closedAt });

      // Started again with nothing new: the witness hears that a server runs again.
      const second = setUp(witness);
      await started(second.checkpointer, witness);
      expect(witness.recorded.at(-1)?.checkpoint).toMatchObject({ reason: "start", seq: closedAt });
      // Two rows (fewer than everyRows, before any interval), then kill -9: no closing checkpoint.
      await append(2, () => second.checkpointer.appended());
      await second.checkpointer.stop();

      const third = setUp(witness);
      await started(third.checkpointer, witness);
      expect(third.checkpointer.suspended()).toBeUndefined();
      expect(messages(third.logs, "audit chain intact against the witness")).toHaveLength(1);
    });
  });

  it("rows deleted and the head moved back behind this process's own append: suspended, loudly, nothing signed after", async () => {
    await onFreshTable(async () => {
      const witness = fakeWitness();
      const { checkpointer, logs } = setUp(witness, 1_000);
      await started(checkpointer, witness);
      const recorder = createAuditRecorder(db, logs.logger, checkpointer);
      await recorder.record(entry(++rows));
      await recorder.record(entry(++rows));
      // An insider deletes the last row and puts the head back on the one before, consistently.
      const { rows: before } = await db.query<{ seq: number; row_hash: string; prev_hash: string }>(
        "SELECT seq, row_hash, prev_hash FROM audit_log WHERE seq = (SELECT seq - 1 FROM audit_head)",
      );
      const back = before[0];
      if (!back) throw new Error("no row before the head");
      await db.transaction(async (tx) => {
        await tx.query("DELETE FROM audit_log WHERE seq = $1", [back.seq + 1]);
        await tx.query("UPDATE audit_head SET seq = $1, hash = $2, prev_hash = $3", [
          back.seq,
          back.row_hash,
          back.prev_hash,
        ]);
      });
      rows--;
      const held = witness.recorded.length;
      await recorder.record(entry(++rows));
      expect(checkpointer.suspended()).toMatch(
        new RegExp(`head was at seq ${back.seq} .* own last append had left it at seq ${back.seq + 1}`),
      );
      expect(
        logs
          .records()
          .filter((r) => String(r.msg).startsWith("audit chain NOT intact: the chain's head was at")),
      ).toHaveLength(1);
      await checkpointer.close();
      expect(witness.recorded).toHaveLength(held);
    });
  });
});
