import type { NodeStreamableHTTPServerTransport } from "@modelcontextprotocol/node";
import type { Server } from "@modelcontextprotocol/server";
import { actorChain, type Principal } from "#kit/auth/index.js";
import type { Logger } from "#kit/log/index.js";

export interface McpSession {
  readonly id: string;
  readonly transport: NodeStreamableHTTPServerTransport;
  readonly server: Server;
  /** `ownerKey` of the principal that sent `initialize`. */
  readonly owner: string;
  readonly userId: string;
  /** `sid` of the token that opened it: the login session it lives within. */
  readonly loginSession: string;
  lastSeen: number;
}

export type SessionLookup =
  | { readonly status: "ok"; readonly session: McpSession }
  | { readonly status: "not_owned"; readonly session: McpSession }
  | { readonly status: "not_found" };

/**
 * Who a session belongs to: the user, within one login session (`sid`), plus the whole chain of
 * whoever acts for them (gateway, agent service, agent; nested `act`). The same user through another
 * agent or another chain is another principal (the gateway keeps one session per user × agent), so
 * is the same user signed in again (a session opened under a login that was revoked is not carried
 * on by the next login), and the development principal never shares a session with a real user. A
 * refreshed or exchanged token keeps its `sid`, and with it the session.
 */
export function ownerKey(p: Principal): string {
  const chain = actorChain(p).map((a) => [a.sub, a.agent ?? null]);
  return JSON.stringify([p.userId, p.sessionId, chain, p.anonymous]);
}

/**
 * Open MCP sessions, in least-recently-used order. Bounded (the oldest is closed when full) and
 * swept for idleness, so abandoned sessions do not accumulate.
 */
export class SessionRegistry {
  private readonly sessions = new Map<string, McpSession>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly options: { idleMs: number; max: number; logger: Logger }) {
    this.sweeper = setInterval(
      () => this.sweep(Date.now()),
      Math.min(60_000, Math.max(1_000, options.idleMs / 4)),
    );
    this.sweeper.unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  add(session: McpSession): void {
    while (this.sessions.size >= this.options.max) {
      const oldest = this.sessions.values().next().value as McpSession;
      this.options.logger.warn(
        { session_id: oldest.id, max: this.options.max },
        "MCP session limit reached: closing the least recently used session",
      );
      this.close(oldest);
    }
    this.sessions.set(session.id, session);
  }

  /**
   * Looks a session up for the principal `owner` (an `ownerKey`). Only its owner's use counts as
   * use: the idle timer and the LRU position move for the owner alone, so a stranger presenting
   * someone's session id (refused) cannot keep that session alive.
   */
  lookup(id: string, owner: string): SessionLookup {
    const s = this.sessions.get(id);
    if (!s) return { status: "not_found" };
    if (s.owner !== owner) return { status: "not_owned", session: s };
    s.lastSeen = Date.now();
    this.sessions.delete(id);
    this.sessions.set(id, s);
    return { status: "ok", session: s };
  }

  remove(id: string): void {
    this.sessions.delete(id);
  }

  sweep(now: number): void {
    for (const s of this.sessions.values()) {
      // Map order is recency order: the first fresh session ends the idle ones.
      if (now - s.lastSeen < this.options.idleMs) break;
      this.options.logger.info(
        { session_id: s.id, user_id: s.userId },
        "MCP session closed after being idle",
      );
      this.close(s);
    }
  }

  /**
   * Closes every session opened within login session `sid` (revoked: logout, reuse, an
   * administrator): its open streams end now, not when its next request is refused.
   */
  closeLoginSession(sid: string): void {
    for (const s of [...this.sessions.values()]) {
      if (s.loginSession !== sid) continue;
      this.options.logger.info(
        { session_id: s.id, user_id: s.userId },
        "MCP session closed: its login session was revoked",
      );
      void this.close(s);
    }
  }

  async closeAll(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.all([...this.sessions.values()].map((s) => this.close(s)));
  }

  private close(s: McpSession): Promise<void> {
    this.sessions.delete(s.id);
    return s.server.close().catch(() => undefined);
  }
}
