import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type Checkpoint,
  CheckpointReason,
  CheckpointSchema,
  type WitnessedCheckpoint,
  WitnessedCheckpointSchema,
} from "#gen/supportext/audit/v1/witness_pb.js";
import type { CheckpointReason as Reason, SignedCheckpoint } from "./checkpoint.js";

/** A checkpoint as the witness keeps it (proto/supportext/audit/v1/witness.proto). */
export interface Witnessed {
  readonly checkpoint: SignedCheckpoint;
  readonly witnessId: number;
  readonly witnessedAt: Date;
  /** Compact JWS by the identity service (typ COUNTERSIGNATURE_TYP). */
  readonly countersignature: string;
}

const REASONS: Readonly<Record<Reason, CheckpointReason>> = {
  rows: CheckpointReason.ROWS,
  interval: CheckpointReason.INTERVAL,
  start: CheckpointReason.START,
  shutdown: CheckpointReason.SHUTDOWN,
};

export function checkpointToProto(cp: SignedCheckpoint): Checkpoint {
  return create(CheckpointSchema, {
    seq: BigInt(cp.seq),
    hash: cp.hash,
    at: timestampFromDate(cp.at),
    reason: REASONS[cp.reason],
    signerKey: cp.signerKey,
    signature: cp.signature,
  });
}

/** The checkpoint in `m`, or a sentence saying which field is missing or unknown. */
export function checkpointFromProto(m: Checkpoint | undefined): SignedCheckpoint | string {
  if (!m) return "checkpoint is required";
  const reason = (Object.keys(REASONS) as Reason[]).find((r) => REASONS[r] === m.reason);
  if (!reason) return "reason is required";
  if (!m.at) return "at is required";
  if (m.seq > BigInt(Number.MAX_SAFE_INTEGER)) return "seq is out of range";
  return {
    seq: Number(m.seq),
    hash: m.hash,
    at: timestampDate(m.at),
    reason,
    signerKey: m.signerKey,
    signature: m.signature,
  };
}

export function witnessedToProto(w: Witnessed): WitnessedCheckpoint {
  return create(WitnessedCheckpointSchema, {
    checkpoint: checkpointToProto(w.checkpoint),
    witnessId: BigInt(w.witnessId),
    witnessedAt: timestampFromDate(w.witnessedAt),
    countersignature: w.countersignature,
  });
}

export function witnessedFromProto(m: WitnessedCheckpoint): Witnessed | string {
  const checkpoint = checkpointFromProto(m.checkpoint);
  if (typeof checkpoint === "string") return checkpoint;
  if (!m.witnessedAt) return "witnessed_at is required";
  return {
    checkpoint,
    witnessId: Number(m.witnessId),
    witnessedAt: timestampDate(m.witnessedAt),
    countersignature: m.countersignature,
  };
}
