import { AsyncResource } from "node:async_hooks";
import type { Database } from "#kit/db/index.js";
import type { AuditEntry } from "../data/audit-log.js";
import { createChainAppender, type HeadMovedBack } from "./chain-appender.js";

/** Rows per transaction at most: one statement's parameters stay far below PostgreSQL's 65,535. */
const MAX_BATCH = 64;

interface Waiting {
  readonly entry: AuditEntry;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

/**
 * Group commit of audit rows (docs/performance.md, "Per-call breakdown: MCP server"). Appends are
 * serial by design (each row links to the one before it); one commit per row made each call pay
 * its own round trips and commit while the others queued. Here
 * the rows that arrive while a commit is under way wait for the next one and go in together: one
 * multi-row INSERT, each row still hashed onto the one before it — in one statement while this
 * process is the chain's only writer, else under one lock and one commit (chain-appender.ts). Nothing is
 * delayed to form a batch: an idle appender commits a lone row at once.
 *
 * Each `append` resolves only once its own row is committed (the caller answers after that, as
 * before), and rejects if it was not. A batch the database refuses as data is retried row by
 * row, so one bad row fails only its own call; any other failure fails the batch's calls.
 */
export function createGroupCommit(
  db: Database,
  onHeadMovedBack?: HeadMovedBack,
): (entry: AuditEntry) => Promise<void> {
  const waiting: Waiting[] = [];
  let flushing = false;
  // Commits run in the context the appender was made in (the server's), not in whichever
  // request happened to start the loop: other calls' rows are not that request's work.
  const scope = new AsyncResource("audit-group-commit");

  const commit = createChainAppender(db, onHeadMovedBack);

  const flush = async () => {
    try {
      while (waiting.length > 0) {
        const batch = waiting.splice(0, MAX_BATCH);
        try {
          await commit(batch.map((w) => w.entry));
          for (const w of batch) w.resolve();
        } catch (err) {
          // Only a row the database refused (a data error) is worth retrying alone. A lost
          // connection would make each retry wait its own timeout, and a commit whose outcome is
          // unknown may have stored the rows: the whole batch fails, each call as its own row would.
          if (batch.length === 1 || !isDataError(err)) {
            for (const w of batch) w.reject(err);
            continue;
          }
          for (const w of batch) {
            await commit([w.entry]).then(w.resolve, w.reject);
          }
        }
      }
    } finally {
      flushing = false;
    }
  };

  return (entry) =>
    new Promise<void>((resolve, reject) => {
      waiting.push({ entry, resolve, reject });
      if (flushing) return;
      flushing = true;
      scope.runInAsyncScope(() => void flush());
    });
}

/** PostgreSQL refused the data itself (SQLSTATE class 22 data exception, 23 integrity violation). */
function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === "string" && /^2[23][0-9A-Z]{3}$/.test(code);
}
