/** The NOTIFY channel of throttle events; its payload is one event as JSON (`SharedEvent`). */
export const THROTTLE_EVENT_CHANNEL = "throttle_event";

/** One counted event (or a cleared key) as stored and as announced to the other replicas. */
export interface SharedEvent {
  /** The window's name (`login_pair`, `client_auth`, …). */
  readonly w: string;
  /** The key's SHA-256: emails and addresses are not written to the table or the channel. */
  readonly k: string;
  /** Epoch ms of the event, by the recording replica's clock; absent for a clear. */
  readonly at?: number;
  /** The recording replica: it has counted the event already. */
  readonly o: string;
  /**
   * The recording replica's schema. Channels are per database, not per schema: two deployments
   * sharing one PostgreSQL database in their own schemas hear each other's notifications, and must
   * not count each other's events.
   */
  readonly s?: string;
}

/** A notification's payload as an event; undefined when it is not JSON or names no window and key. */
export function parseSharedEvent(payload: string): SharedEvent | undefined {
  let event: SharedEvent;
  try {
    event = JSON.parse(payload) as SharedEvent;
  } catch {
    return undefined;
  }
  if (typeof event.w !== "string" || typeof event.k !== "string") return undefined;
  return event;
}
