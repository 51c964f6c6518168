import { AsyncResource } from "node:async_hooks";
import type { CheckpointReason } from "#kit/audit/index.js";
import type { Database } from "#kit/db/index.js";
import type { Logger } from "#kit/log/index.js";
import { readAuditHeadOrUndefined } from "../../data/audit-head.js";
import { GENESIS_HASH } from "../chain-hash.js";
import { verifyAuditChain } from "../verify-chain.js";
import { chainExtensionProblem } from "./chain-extends.js";
import type { CheckpointSigner } from "./checkpoint-key.js";
import { CheckpointRefusedError, type WitnessClient, WitnessUnavailableError } from "./witness-client.js";
import { compareWithWitness } from "./witness-comparison.js";

/** Makes the server's signed checkpoints and hands them to the witness (docs/mcp-server.md, "Witnessed checkpoints"). */
export interface Checkpointer {
  /** At start: checks the table against the witness; never throws (a broken chain is flagged, not fatal). */
  start(): Promise<void>;
  /** After every committed audit row. */
  appended(): void;
  /**
   * Committed rows were found gone and the head moved back (chain-appender.ts): logged as the chain
   * not intact, and no checkpoint is made any more — the next would vouch for the shortened chain.
   */
  tampered(why: string): void;
  /** At shutdown, once nothing appends any more: the closing checkpoint. */
  close(): Promise<void>;
  /**
   * When the server never started serving (start-up failed after `start`): no more checkpoints, and
   * the one under way finished, without a closing one — no call ran, and the database closes next.
   */
  stop(): Promise<void>;
  /** Why checkpoints are suspended (the chain is broken), or undefined. */
  suspended(): string | undefined;
}

interface Anchor {
  readonly seq: number;
  readonly hash: string;
  readonly reason: CheckpointReason | "empty";
}

export interface CheckpointerDeps {
  readonly db: Database;
  readonly witness: WitnessClient;
  readonly signer: CheckpointSigner;
  readonly logger: Logger;
  readonly everyRows: number;
  readonly everyMs: number;
  /**
   * While the witness is unreachable, how long rows wait before they may ask it again (doubling on
   * each failure, up to `everyMs`; the interval asks too). 1 s when not given.
   */
  readonly outageRetryMs?: number;
}

const OUTAGE_RETRY_MS = 1_000;

/** The checkpointer's state, shared by the steps below. */
interface CheckpointState {
  readonly deps: CheckpointerDeps;
  // The last head the witness holds, once the table was found to contain it; undefined until then.
  anchor: Anchor | undefined;
  suspendedBecause: string | undefined;
  appendedSince: number;
  witnessDown: boolean;
  /** During an outage: when rows may next ask the witness, and the wait after that. */
  rowsRetryAt: number;
  outageWaitMs: number;
}

export function createCheckpointer(deps: CheckpointerDeps): Checkpointer {
  const state: CheckpointState = {
    deps,
    anchor: undefined,
    suspendedBecause: undefined,
    appendedSince: 0,
    witnessDown: false,
    rowsRetryAt: 0,
    outageWaitMs: deps.outageRetryMs ?? OUTAGE_RETRY_MS,
  };
  // One "rows" checkpoint waits at a time, however many rows arrive while it does.
  let rowsQueued = false;
  let queue: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;

  /** One checkpoint at a time, in order; a failure is logged, never thrown at a tool call. */
  const enqueue = (reason: CheckpointReason) => {
    queue = queue.then(() =>
      checkpoint(state, reason).catch((err: unknown) =>
        deps.logger.error({ err, reason }, "audit checkpoint failed"),
      ),
    );
    return queue;
  };

  /**
   * `appended` is called by a tool call, maybe inside its transaction (a ticket and its audit row
   * commit together): the checkpoint it queues runs in the checkpointer's own async context, not the
   * caller's — neither inside that transaction (where the data layer refuses a query of another
   * connection's: tx-guard.ts) nor under that call's trace, request and user in its log lines. On
   * PGlite its first query then waits for that transaction to end; on PostgreSQL it reads the head
   * as committed.
   */
  const enqueueOutsideCaller = AsyncResource.bind(enqueue);

  return {
    async start() {
      await enqueue("start");
      timer = setInterval(() => void enqueue("interval"), deps.everyMs);
      timer.unref();
    },
    appended() {
      state.appendedSince++;
      // During a witness outage rows do not ask it again before the wait is over: every call's
      // row would otherwise make a failed call of its own to the witness.
      if (state.appendedSince >= deps.everyRows && !rowsQueued && performance.now() >= state.rowsRetryAt) {
        rowsQueued = true;
        void enqueueOutsideCaller("rows").finally(() => {
          rowsQueued = false;
        });
      }
    },
    tampered(why) {
      suspend(state, why);
    },
    async close() {
      clearInterval(timer);
      await enqueue("shutdown");
    },
    async stop() {
      clearInterval(timer);
      await queue;
    },
    suspended: () => state.suspendedBecause,
  };
}

function unreachable(state: CheckpointState, err: Error): void {
  const { deps } = state;
  // Once per outage: rows (after a growing wait) and the interval retry quietly until it answers.
  if (!state.witnessDown) {
    deps.logger.warn({ err: err.message }, "audit witness unreachable: checkpoints wait until it answers");
    state.outageWaitMs = deps.outageRetryMs ?? OUTAGE_RETRY_MS;
  }
  state.witnessDown = true;
  // The monotonic clock: a wall clock set back would hold the rows off for as long.
  state.rowsRetryAt = performance.now() + state.outageWaitMs;
  state.outageWaitMs = Math.min(state.outageWaitMs * 2, Math.max(deps.everyMs, state.outageWaitMs));
}

/** The witness answered: the outage, if any, is over. */
function answered(state: CheckpointState): void {
  state.witnessDown = false;
  state.rowsRetryAt = 0;
}

function suspend(state: CheckpointState, why: string, problems: readonly string[] = []): void {
  state.suspendedBecause = why;
  // Loud, and nothing is re-sealed: an operator must look (`npm run audit -- --verify`).
  state.deps.logger.error(
    { problems: problems.slice(0, 20), problem_count: problems.length },
    `audit chain NOT intact: ${why}; checkpoints suspended, nothing re-sealed (run npm run audit -- --verify)`,
  );
}

/** Walks the whole table and compares it with the witness's newest checkpoint. */
async function establish(state: CheckpointState): Promise<boolean> {
  const { db, witness, logger } = state.deps;
  let latest: Awaited<ReturnType<WitnessClient["latest"]>>;
  try {
    latest = await witness.latest();
  } catch (err) {
    if (!(err instanceof WitnessUnavailableError)) throw err;
    unreachable(state, err);
    return false;
  }
  answered(state);
  const report = await verifyAuditChain(db);
  const compared = await compareWithWitness(db, latest);
  const problems = [
    ...report.problems.map((p) => `${p.kind}: ${p.seq === undefined ? "" : `seq ${p.seq}: `}${p.detail}`),
    ...compared.problems.map((p) => `${p.kind}: ${p.detail}`),
  ];
  if (problems.length > 0) {
    const count = report.problemCount + compared.problems.length;
    suspend(state, `${count} problem(s) against the witnessed checkpoint`, problems);
    return false;
  }
  state.anchor = latest
    ? { seq: latest.checkpoint.seq, hash: latest.checkpoint.hash, reason: latest.checkpoint.reason }
    : { seq: 0, hash: GENESIS_HASH, reason: "empty" };
  logger.info(
    { audit_head: { seq: report.head.seq, hash: report.head.hash }, witnessed_seq: state.anchor.seq },
    "audit chain intact against the witness",
  );
  return true;
}

async function checkpoint(state: CheckpointState, reason: CheckpointReason): Promise<void> {
  if (state.suspendedBecause !== undefined) return;
  if (state.anchor === undefined && !(await establish(state))) return;
  const from = state.anchor as Anchor;
  const head = await readAuditHeadOrUndefined(state.deps.db);
  if (head === undefined || head.hash === null) {
    suspend(state, head === undefined ? "audit_head has no row" : "audit_head.hash is NULL (unsealed)");
    return;
  }
  // After a closing checkpoint, a running server's first checkpoint is made even with no new row:
  // the witness must hear that a server runs again, or the rows it writes next would read, after a
  // crash, as written when no server was running (witness-comparison.ts).
  const resumed = from.reason === "shutdown" && reason !== "shutdown";
  const nothingNew =
    !resumed && head.seq === from.seq && (reason !== "shutdown" || from.reason === "shutdown");
  if (nothingNew) return;
  const broken = await chainExtensionProblem(state.deps.db, from, { seq: head.seq, hash: head.hash });
  if (broken !== undefined) {
    suspend(state, `the chain no longer extends the witnessed checkpoint at seq ${from.seq}: ${broken}`);
    return;
  }
  await witnessHead(state, { seq: head.seq, hash: head.hash }, reason);
}

/** Signs the head and hands it to the witness; a refusal or an outage waits for the next one. */
async function witnessHead(
  state: CheckpointState,
  head: { seq: number; hash: string },
  reason: CheckpointReason,
): Promise<void> {
  const { witness, signer, logger } = state.deps;
  const rowsAtStart = state.appendedSince;
  try {
    const w = await witness.record(signer.sign({ seq: head.seq, hash: head.hash, at: new Date(), reason }));
    answered(state);
    state.anchor = { seq: w.checkpoint.seq, hash: w.checkpoint.hash, reason };
    state.appendedSince = Math.max(0, state.appendedSince - rowsAtStart);
    logger.info(
      { audit_checkpoint: { seq: head.seq, hash: head.hash, witness_id: w.witnessId }, reason },
      "audit checkpoint witnessed",
    );
  } catch (err) {
    if (err instanceof CheckpointRefusedError) {
      // Another replica may have moved the witness past us: ask it again before the next one.
      logger.error({ err: err.message, seq: head.seq }, "audit checkpoint refused by the witness");
      state.anchor = undefined;
    } else if (err instanceof WitnessUnavailableError) unreachable(state, err);
    else throw err;
  }
}
