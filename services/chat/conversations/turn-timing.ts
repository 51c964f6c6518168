/**
 * How long a chat process may go without its heartbeat before its open turns count as abandoned
 * (the process died): then another process — the restarted one, or a replica — may interrupt or
 * resume them (docs/chat.md, "A turn that survives a crash"). Heartbeats come every
 * TURN_HEARTBEAT_MS, so a live owner is never mistaken for a dead one.
 */
export const TURN_STALE_MS = 5_000;
export const TURN_HEARTBEAT_MS = 1_000;
