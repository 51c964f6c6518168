import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type WitnessCheck,
  WitnessCheck_State,
  WitnessCheckSchema,
} from "#gen/supportext/audit/v1/audit_pb.js";
import type { Unwitnessed, WitnessStatus } from "../verify-chain.js";

/** The witness part of a verify report as `VerifyAuditChain` carries it, both ways (the CLI prints the same text in both modes). */
export function witnessToProto(w: WitnessStatus): WitnessCheck {
  const unwitnessed = (u: Unwitnessed | undefined) =>
    u ? { unwitnessedFrom: BigInt(u.from), unwitnessedTo: BigInt(u.to) } : {};
  switch (w.state) {
    case "unreachable":
      return create(WitnessCheckSchema, { state: WitnessCheck_State.UNREACHABLE, detail: w.detail });
    case "none":
      return create(WitnessCheckSchema, { state: WitnessCheck_State.NONE, ...unwitnessed(w.unwitnessed) });
    case "checked":
      return create(WitnessCheckSchema, {
        state: WitnessCheck_State.CHECKED,
        checkpointSeq: BigInt(w.seq),
        checkpointHash: w.hash,
        checkpointAt: timestampFromDate(w.at),
        checkpointReason: w.reason,
        witnessId: BigInt(w.witnessId),
        ...unwitnessed(w.unwitnessed),
      });
  }
}

export function witnessFromProto(m: WitnessCheck): WitnessStatus {
  const unwitnessed =
    m.unwitnessedTo > 0n
      ? { unwitnessed: { from: Number(m.unwitnessedFrom), to: Number(m.unwitnessedTo) } }
      : {};
  switch (m.state) {
    case WitnessCheck_State.CHECKED:
      return {
        state: "checked",
        seq: Number(m.checkpointSeq),
        hash: m.checkpointHash,
        at: m.checkpointAt ? timestampDate(m.checkpointAt) : new Date(0),
        reason: m.checkpointReason,
        witnessId: Number(m.witnessId),
        ...unwitnessed,
      };
    case WitnessCheck_State.NONE:
      return { state: "none", ...unwitnessed };
    default:
      return { state: "unreachable", detail: m.detail || "the server could not ask the witness" };
  }
}
