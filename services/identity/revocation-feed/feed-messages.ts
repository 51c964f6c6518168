import { create } from "@bufbuild/protobuf";
import {
  type RevokedSession,
  RevokedSessionSchema,
  type WatchResponse,
  WatchResponseSchema,
} from "#gen/supportext/auth/v1/revocation_pb.js";
import type { RevocationList, RevokedEntry } from "../sessions/revocation-list.js";

function toProto(entry: RevokedEntry): RevokedSession {
  return create(RevokedSessionSchema, {
    sessionId: entry.sessionId,
    revokedAtMs: BigInt(entry.revokedAt.getTime()),
    reason: entry.reason,
  });
}

/** One live message: a session that just entered the list. */
export function revocationMessage(entry: RevokedEntry): WatchResponse {
  return create(WatchResponseSchema, { sessions: [toProto(entry)] });
}

/** Every session the list remembers, `chunkSize` per message; at least one message, maybe empty. */
export function snapshotMessages(list: RevocationList, chunkSize: number): WatchResponse[] {
  const sessions = list.entries().map(toProto);
  const messages: WatchResponse[] = [];
  for (let i = 0; i === 0 || i < sessions.length; i += chunkSize) {
    messages.push(
      create(WatchResponseSchema, { snapshot: true, sessions: sessions.slice(i, i + chunkSize) }),
    );
  }
  return messages;
}
