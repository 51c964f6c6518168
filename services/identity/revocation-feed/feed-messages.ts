import { create } from "@bufbuild/protobuf";
import {
  RemovedKeySchema,
  type RevokedSession,
  RevokedSessionSchema,
  type WatchResponse,
  WatchResponseSchema,
} from "#gen/supportext/auth/v1/revocation_pb.js";
import type { RemovedKeyList } from "../keys/removed-key-list.js";
import type { RemovedSigningKey } from "../keys/signing-key-store.js";
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

function removedKeyProto(key: RemovedSigningKey) {
  return create(RemovedKeySchema, { kid: key.kid, removedAtMs: BigInt(key.removedAt.getTime()) });
}

/** One live message: a signing key that just entered the removed-key list. */
export function removedKeyMessage(key: RemovedSigningKey): WatchResponse {
  return create(WatchResponseSchema, { removedKeys: [removedKeyProto(key)] });
}

/**
 * Every session the list remembers, `chunkSize` per message, and every removed key (a few at most)
 * in the first; at least one message, maybe empty.
 */
export function snapshotMessages(
  list: RevocationList,
  removedKeys: RemovedKeyList,
  chunkSize: number,
): WatchResponse[] {
  const sessions = list.entries().map(toProto);
  const messages: WatchResponse[] = [];
  for (let i = 0; i === 0 || i < sessions.length; i += chunkSize) {
    messages.push(
      create(WatchResponseSchema, {
        snapshot: true,
        sessions: sessions.slice(i, i + chunkSize),
        removedKeys: i === 0 ? removedKeys.entries().map(removedKeyProto) : [],
      }),
    );
  }
  return messages;
}
