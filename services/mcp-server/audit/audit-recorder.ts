import { actingAgent, actorChain, type Principal } from "#kit/auth/index.js";
import type { Database, Transaction } from "#kit/db/index.js";
import type { Logger } from "#kit/log/index.js";
import { type AuditEntry, type AuditOutcome, appendAuditEntry } from "../data/audit-log.js";
import { createGroupCommit } from "./group-commit.js";
import { auditArguments, scrubbedPrefix, storableText } from "./redact-arguments.js";

/** Who made a call and where it belongs (the same facts the log lines carry). */
export interface CallFacts {
  readonly principal: Principal;
  readonly sessionId: string | undefined;
  readonly traceId: string | undefined;
  readonly requestId: string | undefined;
}

export interface CallResult {
  readonly outcome: AuditOutcome;
  readonly errorCode?: string;
  readonly error?: string;
  readonly durationMs: number;
  /** A confirmed destructive call: who said yes (user id), and when (docs/mcp-server.md, "Confirmation before destruction"). */
  readonly confirmedBy?: string;
  readonly confirmedAt?: Date;
}

const MAX_ERROR = 1_000;

export function auditEntry(
  facts: CallFacts,
  tool: string,
  rawArguments: unknown,
  result: CallResult,
): AuditEntry {
  const p = facts.principal;
  // Tool names and error texts can quote the request (an unknown tool's name, an unknown key):
  // bounded, scrubbed and storable like the arguments, or the row could not be written.
  const error = result.error === undefined ? null : scrubbedPrefix(result.error, MAX_ERROR);
  return {
    userId: p.userId,
    email: p.email || null,
    // From the verified token only (nested `act`): who acts now, which agent, and the whole chain.
    actorSub: p.actor?.sub ?? null,
    actorAgent: actingAgent(p) ?? null,
    actorChain: actorChain(p).map((a) =>
      a.agent === undefined ? { sub: a.sub } : { sub: a.sub, agent: a.agent },
    ),
    anonymous: p.anonymous,
    tool: storableText(tool.slice(0, 200)),
    arguments: auditArguments(rawArguments),
    outcome: result.outcome,
    errorCode: result.errorCode ?? null,
    error,
    durationMs: Math.round(result.durationMs * 1000) / 1000,
    traceId: facts.traceId ?? null,
    requestId: facts.requestId ?? null,
    sessionId: facts.sessionId ?? null,
    confirmedBy: result.confirmedBy ?? null,
    // Milliseconds, what a Date holds: the value read back hashes the same.
    confirmedAt: result.confirmedAt ?? null,
  };
}

/**
 * Writes audit rows, each appended to the hash chain; `within` joins a caller's transaction so a
 * change and its row commit together (and the chain's head stays locked until they do). Its append
 * is sent unawaited, right before the COMMIT (`appendAuditEntry`): a refused append rejects the
 * caller's transaction.
 */
export interface AuditRecorder {
  record(entry: AuditEntry): Promise<void>;
  within(tx: Transaction, entry: AuditEntry): void;
}

/** Who hears of the chain's appends: the checkpointer (witness/checkpointer.ts). */
export interface AuditObserver {
  /** After each row is appended: counted towards the next checkpoint. */
  appended(): void;
  /** The head was found moved back behind this process's own rows: tampering, checkpoints stop. */
  tampered(why: string): void;
}

const NO_OBSERVER: AuditObserver = { appended: () => undefined, tampered: () => undefined };

export function createAuditRecorder(
  db: Database,
  logger: Logger,
  observer: AuditObserver = NO_OBSERVER,
): AuditRecorder {
  const { appended } = observer;
  // Calls' rows that arrive together commit together, each call still waiting for its own.
  const append = createGroupCommit(db, (detail) => observer.tampered(detail));
  return {
    async record(entry) {
      try {
        await append(entry);
        appended();
      } catch (err) {
        // Loud: a missing audit row is a security event, not a detail.
        logger.error({ err, tool: entry.tool, outcome: entry.outcome }, "audit record could not be written");
        throw err;
      }
    },
    within: (tx, entry) => {
      appendAuditEntry(tx, entry);
      // Counted before the caller commits: a rolled-back row only brings the next checkpoint closer.
      appended();
    },
  };
}
