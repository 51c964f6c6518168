/**
 * PostgreSQL LISTEN/NOTIFY for the data layer (`Database.listen`): a process learns at once what
 * another process committed, without polling (the chat replicas' revocations,
 * docs/identity.md "Revocation at the edge").
 *
 * Delivery follows PostgreSQL: a notification sent inside a transaction arrives when it commits,
 * never if it rolls back; payloads are text. A notification sent while the listening connection is
 * down is lost — PostgreSQL does not queue it — which is why `onReconnected` exists: the listener
 * re-reads, from its tables, whatever may have been committed in between.
 */

/** Channel names we accept: plain lower-case identifiers, so they go into `LISTEN` unquoted and unambiguous. */
const CHANNEL = /^[a-z_][a-z0-9_]{0,62}$/;

export interface ListenOptions {
  /**
   * Called after the listening connection was lost and `LISTEN` is in place again (never for the
   * first connection): notifications sent in between were missed, reload what they would have said.
   */
  readonly onReconnected?: () => void;
}

/** An active `LISTEN`; `close()` stops it (idempotent). */
export interface Listening {
  close(): Promise<void>;
}

export type ListenFn = (
  channel: string,
  onNotification: (payload: string) => void,
  options?: ListenOptions,
) => Promise<Listening>;

/** Throws unless `channel` is a plain lower-case identifier (`session_revoked`). */
export function assertChannelName(channel: string): void {
  if (!CHANNEL.test(channel)) {
    throw new Error(`invalid LISTEN channel ${JSON.stringify(channel)} (lower-case letters, digits, _)`);
  }
}
