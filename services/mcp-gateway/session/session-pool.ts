import type { McpSession } from "./mcp-session.js";

export interface SessionPoolOptions {
  /** Most sessions kept open; the least recently used idle one is closed beyond that. */
  readonly maxSessions: number;
  /** Sessions unused this long are closed. */
  readonly idleMs: number;
}

/**
 * The gateway's MCP sessions, one per principal key, created on first use, reused, closed when
 * idle and evicted least-recently-used beyond the cap (a session in use is never closed under a
 * running call; it is closed once it goes idle).
 */
export class SessionPool {
  private readonly sessions = new Map<string, McpSession>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly options: SessionPoolOptions) {
    this.sweeper = setInterval(() => this.sweep(), Math.max(1000, Math.floor(options.idleMs / 2)));
    this.sweeper.unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  /** The session for `key`, made by `create` on first use. */
  acquire(key: string, create: () => McpSession): McpSession {
    let session = this.sessions.get(key);
    if (session) {
      this.sessions.delete(key); // re-insert: Map order is recency order
    } else {
      session = create();
    }
    this.sessions.set(key, session);
    this.evictOverflow(key);
    return session;
  }

  /** Closes and forgets every session whose key starts with `prefix` (a revoked login session's). */
  dropPrefix(prefix: string): number {
    let dropped = 0;
    for (const [key, session] of this.sessions) {
      if (!key.startsWith(prefix)) continue;
      this.sessions.delete(key);
      void session.close();
      dropped++;
    }
    return dropped;
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map((s) => s.close()));
  }

  /** Past the cap, closes the least recently used idle sessions — never `keep`, just handed out. */
  private evictOverflow(keep: string): void {
    if (this.sessions.size <= this.options.maxSessions) return;
    for (const [key, session] of this.sessions) {
      if (this.sessions.size <= this.options.maxSessions) break;
      if (session.busy || key === keep) continue;
      this.sessions.delete(key);
      void session.close();
    }
  }

  private sweep(): void {
    const cutoff = Date.now() - this.options.idleMs;
    for (const [key, session] of this.sessions) {
      if (!session.busy && session.lastUsed < cutoff) {
        this.sessions.delete(key);
        void session.close();
      }
    }
  }
}
