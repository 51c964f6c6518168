import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CheckpointReason, Witnessed } from "#kit/audit/index.js";
import type { Database } from "#kit/db/index.js";
import { type TestDatabase, testBackends } from "#kit/db/testing/test-backends.js";
import { IDENTITY_MIGRATIONS } from "../migrations.js";
import { insertCheckpoint, latestCheckpoint, lockChain, nextCheckpointId } from "./checkpoint-store.js";

/** Conditions are awaited, never timed: generous for a busy 2-core machine. */
const SLOW_MACHINE = { timeout: 15_000 };

/**
 * The audit witness's checkpoints (docs/identity.md, "Audit witness") on PGlite and on
 * DATABASE_URL's PostgreSQL: each chain's newest checkpoint is the one the witness recorded last,
 * chains never see each other's, a stored checkpoint cannot be changed or removed, and one chain's
 * checkpoints are recorded one at a time.
 */
const hash = () => randomBytes(32).toString("hex");

const witnessed = (witnessId: number, seq: number, reason: CheckpointReason = "rows"): Witnessed => ({
  checkpoint: {
    seq,
    hash: hash(),
    at: new Date(Date.UTC(2030, 0, 1, 0, 0, seq)),
    reason,
    signerKey: "signer-public-key",
    signature: `signature-of-${seq}`,
  },
  witnessId,
  witnessedAt: new Date(Date.UTC(2030, 0, 1, 0, 1, seq)),
  countersignature: `countersignature-of-${seq}`,
});

describe.each(testBackends("identity", IDENTITY_MIGRATIONS))(
  "the audit checkpoint store on $name",
  (backend) => {
    let handle: TestDatabase;
    let db: Database;
    const record = async (chain: string, seq: number, reason?: CheckpointReason) => {
      const w = witnessed(await nextCheckpointId(db), seq, reason);
      await insertCheckpoint(db, chain, w);
      return w;
    };

    beforeAll(async () => {
      handle = await backend.open();
      db = handle.db;
    });
    afterAll(async () => {
      await handle?.close();
    });

    it("knows no checkpoint of a chain it never witnessed", async () => {
      expect(await latestCheckpoint(db, "mcp-server")).toBeUndefined();
    });

    it("hands out increasing ids, and answers the last recorded checkpoint, as it was stored", async () => {
      const a = await nextCheckpointId(db);
      const b = await nextCheckpointId(db);
      expect(b).toBeGreaterThan(a);
      await record("chain-a", 5, "start");
      const last = await record("chain-a", 9, "shutdown");
      expect(await latestCheckpoint(db, "chain-a")).toEqual(last);
    });

    it("orders by the witness's own ids, not by the checkpoint's seq", async () => {
      const high = witnessed(await nextCheckpointId(db), 100);
      const later = witnessed(await nextCheckpointId(db), 50);
      // Inserted out of order: the later id is still the newest.
      await insertCheckpoint(db, "chain-order", later);
      await insertCheckpoint(db, "chain-order", high);
      expect(await latestCheckpoint(db, "chain-order")).toEqual(later);
    });

    it("keeps chains apart", async () => {
      const mine = await record("chain-mine", 3);
      await record("chain-theirs", 7);
      expect(await latestCheckpoint(db, "chain-mine")).toEqual(mine);
      expect((await latestCheckpoint(db, "chain-theirs"))?.checkpoint.seq).toBe(7);
      expect(await latestCheckpoint(db, "chain-none")).toBeUndefined();
    });

    it("cannot move a chain back: a stored checkpoint is neither changed nor deleted", async () => {
      const stored = await record("chain-fixed", 10);
      await expect(
        db.query("UPDATE audit_checkpoints SET seq = 1 WHERE id = $1", [stored.witnessId]),
      ).rejects.toThrow(/append-only/);
      await expect(
        db.query("DELETE FROM audit_checkpoints WHERE id = $1", [stored.witnessId]),
      ).rejects.toThrow(/append-only/);
      await expect(db.query("TRUNCATE audit_checkpoints")).rejects.toThrow(/append-only/);
      expect(await latestCheckpoint(db, "chain-fixed")).toEqual(stored);
    });

    it("refuses a malformed checkpoint: a bad hash, a negative seq, an unknown reason", async () => {
      const good = witnessed(await nextCheckpointId(db), 1);
      const bad: Witnessed[] = [
        {
          ...good,
          witnessId: await nextCheckpointId(db),
          checkpoint: { ...good.checkpoint, hash: "not-hex" },
        },
        { ...good, witnessId: await nextCheckpointId(db), checkpoint: { ...good.checkpoint, seq: -1 } },
        {
          ...good,
          witnessId: await nextCheckpointId(db),
          checkpoint: { ...good.checkpoint, reason: "whenever" as CheckpointReason },
        },
      ];
      for (const w of bad) await expect(insertCheckpoint(db, "chain-bad", w)).rejects.toThrow();
      expect(await latestCheckpoint(db, "chain-bad")).toBeUndefined();
    });

    // PGlite has one connection: its transactions run one at a time whatever the lock does.
    it.runIf(backend.name === "postgres")(
      "holds one chain's lock until the transaction ends, and leaves other chains free",
      async () => {
        let release: () => void = () => undefined;
        const held = new Promise<void>((r) => {
          release = r;
        });
        const order: string[] = [];
        const transactions: Promise<void>[] = [];
        const lockIn = (chain: string, label: string, hold?: Promise<void>) =>
          transactions.push(
            db.transaction(async (tx) => {
              await lockChain(tx, chain);
              order.push(`${label} locked`);
              if (hold) {
                await hold;
                order.push(`${label} done`);
              }
            }),
          );
        try {
          lockIn("chain-locked", "first", held);
          await expect.poll(() => order, SLOW_MACHINE).toContain("first locked");
          lockIn("chain-free", "other chain");
          await expect.poll(() => order, SLOW_MACHINE).toContain("other chain locked");
          lockIn("chain-locked", "second");
          // The second asks for the held lock; give it time to be (wrongly) granted.
          await new Promise((r) => setTimeout(r, 200));
          expect(order).toEqual(["first locked", "other chain locked"]);
        } finally {
          release();
          await Promise.all(transactions);
        }
        expect(order).toEqual(["first locked", "other chain locked", "first done", "second locked"]);
      },
    );
  },
);
