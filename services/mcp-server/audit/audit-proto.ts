import { create, fromJson, type JsonValue, toJson } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate, ValueSchema } from "@bufbuild/protobuf/wkt";
import {
  type AuditEntry,
  AuditEntrySchema,
  AuditOutcome,
  ChainProblem_Kind,
  ChainProblemSchema,
  type VerifyAuditChainResponse,
  VerifyAuditChainResponseSchema,
} from "#gen/supportext/audit/v1/audit_pb.js";
import type { AuditRecord, AuditOutcome as Outcome } from "../data/audit-log.js";
import type { ChainProblemKind, ChainReport } from "./verify-chain.js";
import { witnessFromProto, witnessToProto } from "./witness/witness-status-proto.js";

/** Conversions between the audit rows and reports and their `supportext.audit.v1` messages, both ways. */

const OUTCOMES: Record<Outcome, AuditOutcome> = {
  ok: AuditOutcome.OK,
  error: AuditOutcome.ERROR,
  refused: AuditOutcome.REFUSED,
};

export function outcomeFromProto(o: AuditOutcome): Outcome | undefined {
  return (Object.keys(OUTCOMES) as Outcome[]).find((k) => OUTCOMES[k] === o);
}

export function outcomeToProto(o: Outcome): AuditOutcome {
  return OUTCOMES[o];
}

export function auditEntryToProto(r: AuditRecord): AuditEntry {
  return create(AuditEntrySchema, {
    id: BigInt(r.id),
    seq: BigInt(r.seq ?? 0),
    at: timestampFromDate(new Date(r.at)),
    userId: r.user_id,
    email: r.email ?? undefined,
    actorSub: r.actor_sub ?? undefined,
    actorAgent: r.actor_agent ?? undefined,
    actorChain: r.actor_chain.map((a) => ({
      sub: a.sub,
      ...(a.agent === undefined ? {} : { agent: a.agent }),
    })),
    anonymous: r.anonymous,
    tool: r.tool,
    arguments: fromJson(ValueSchema, (r.arguments ?? null) as JsonValue),
    outcome: outcomeToProto(r.outcome),
    errorCode: r.error_code ?? undefined,
    error: r.error ?? undefined,
    durationMs: r.duration_ms,
    traceId: r.trace_id ?? undefined,
    requestId: r.request_id ?? undefined,
    sessionId: r.session_id ?? undefined,
    rowHash: r.row_hash ?? "",
    prevHash: r.prev_hash ?? "",
    ...(r.confirmed_by === null ? {} : { confirmedBy: r.confirmed_by }),
    ...(r.confirmed_at === null ? {} : { confirmTime: timestampFromDate(new Date(r.confirmed_at)) }),
  });
}

/** Back to the row shape the CLI prints (the same table and JSON lines as the offline mode). */
export function auditEntryFromProto(e: AuditEntry): AuditRecord {
  return {
    id: Number(e.id),
    at: e.at ? timestampDate(e.at).toISOString() : "",
    user_id: e.userId,
    email: e.email ?? null,
    actor_sub: e.actorSub ?? null,
    actor_agent: e.actorAgent ?? null,
    actor_chain: e.actorChain.map((a) => ({
      sub: a.sub,
      ...(a.agent === undefined ? {} : { agent: a.agent }),
    })),
    anonymous: e.anonymous,
    tool: e.tool,
    arguments: e.arguments ? toJson(ValueSchema, e.arguments) : null,
    outcome: outcomeFromProto(e.outcome) ?? "error",
    error_code: e.errorCode ?? null,
    error: e.error ?? null,
    duration_ms: e.durationMs,
    trace_id: e.traceId ?? null,
    request_id: e.requestId ?? null,
    session_id: e.sessionId ?? null,
    confirmed_by: e.confirmedBy ?? null,
    confirmed_at: e.confirmTime ? timestampDate(e.confirmTime).toISOString() : null,
    seq: Number(e.seq),
    prev_hash: e.prevHash || null,
    row_hash: e.rowHash || null,
  };
}

const KINDS: Record<ChainProblemKind, ChainProblem_Kind> = {
  edited: ChainProblem_Kind.EDITED,
  deleted: ChainProblem_Kind.DELETED,
  inserted: ChainProblem_Kind.INSERTED,
  broken_link: ChainProblem_Kind.BROKEN_LINK,
  head_mismatch: ChainProblem_Kind.HEAD_MISMATCH,
  rewritten: ChainProblem_Kind.REWRITTEN,
  bad_checkpoint: ChainProblem_Kind.BAD_CHECKPOINT,
};

export function chainReportToProto(r: ChainReport): VerifyAuditChainResponse {
  return create(VerifyAuditChainResponseSchema, {
    intact: r.problemCount === 0,
    chainRows: BigInt(r.chainRows),
    rowsExamined: BigInt(r.rowsExamined),
    headSeq: BigInt(r.head.seq),
    headHash: r.head.hash ?? "",
    problems: r.problems.map((p) =>
      create(ChainProblemSchema, {
        kind: KINDS[p.kind],
        detail: p.detail,
        ...(p.id === undefined ? {} : { id: BigInt(p.id) }),
        ...(p.seq === undefined ? {} : { seq: BigInt(p.seq) }),
      }),
    ),
    problemCount: BigInt(r.problemCount),
    ...(r.knownHead ? { knownHeadFound: r.knownHead.found } : {}),
    ...(r.witness ? { witness: witnessToProto(r.witness) } : {}),
  });
}

/** Back to the report the CLI formats, so both modes print the same text. */
export function chainReportFromProto(
  m: VerifyAuditChainResponse,
  knownHead: string | undefined,
): ChainReport {
  const kinds = Object.entries(KINDS) as [ChainProblemKind, ChainProblem_Kind][];
  return {
    chainRows: Number(m.chainRows),
    rowsExamined: Number(m.rowsExamined),
    head: { seq: Number(m.headSeq), hash: m.headHash || null, legacyRows: 0 },
    problems: m.problems.map((p) => ({
      kind: kinds.find(([, v]) => v === p.kind)?.[0] ?? "edited",
      detail: p.detail,
      ...(p.id === undefined ? {} : { id: Number(p.id) }),
      ...(p.seq === undefined ? {} : { seq: Number(p.seq) }),
    })),
    problemCount: Number(m.problemCount),
    ...(knownHead !== undefined && m.knownHeadFound !== undefined
      ? { knownHead: { hash: knownHead, found: m.knownHeadFound } }
      : {}),
    ...(m.witness ? { witness: witnessFromProto(m.witness) } : {}),
  };
}
