import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { sessionKey, sessionKeyPrefix } from "../gateway-service.js";
import type { McpSession } from "./mcp-session.js";
import { SessionPool } from "./session-pool.js";

/**
 * The gateway's pool of MCP sessions (docs/mcp-gateway.md): one session per principal, reused,
 * evicted least-recently-used beyond the cap and closed when idle — but never closed while a call
 * runs on it. The pool sees a session only through `busy`, `lastUsed` and `close()`, so a stand-in
 * with those three drives it; the clock is vitest's fake one (the sweeper is a `setInterval` reading
 * `Date.now()`).
 */
class StandInSession {
  busy = false;
  lastUsed = Date.now();
  closes = 0;
  constructor(readonly key: string) {}
  async close(): Promise<void> {
    this.closes++;
  }
  /** What McpSession.run does around a call: busy while it runs, used when it ends. */
  startCall(): () => void {
    this.busy = true;
    this.lastUsed = Date.now();
    return () => {
      this.busy = false;
      this.lastUsed = Date.now();
    };
  }
}

const IDLE_MS = 60_000;
let pool: SessionPool;
let created: StandInSession[];

function openPool(maxSessions: number): SessionPool {
  pool = new SessionPool({ maxSessions, idleMs: IDLE_MS });
  return pool;
}

/** The pool's session for `key` (a stand-in, made when the pool asks for one). */
function acquire(key: string): StandInSession {
  const session = pool.acquire(key, () => {
    const made = new StandInSession(key);
    created.push(made);
    return made as unknown as McpSession;
  });
  return session as unknown as StandInSession;
}

const alice = sessionKey("login-a", "user-alice", "support-assistant");
const aliceReader = sessionKey("login-a", "user-alice", "ticket-reader");
const bob = sessionKey("login-b", "user-bob", "support-assistant");
const carol = sessionKey("login-c", "user-carol", "support-assistant");
const dave = sessionKey("login-d", "user-dave", "support-assistant");

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date("2026-03-01T09:00:00Z"));
  created = [];
});
afterEach(async () => {
  await pool?.close();
  vi.useRealTimers();
});

describe("one session per principal", () => {
  it("is made on first use and handed back, unclosed, on every later use", () => {
    openPool(10);
    const first = acquire(alice);
    expect(acquire(alice)).toBe(first);
    expect(acquire(alice)).toBe(first);
    expect(created).toHaveLength(1);
    expect(first.closes).toBe(0);
    expect(pool.size).toBe(1);
  });

  it("is never shared: another user, another agent or another login session gets its own", () => {
    openPool(10);
    const sessions = [
      alice,
      aliceReader,
      bob,
      sessionKey("login-a2", "user-alice", "support-assistant"), // Alice's second login
    ].map(acquire);
    expect(new Set(sessions).size).toBe(4);
    expect(sessions.map((s) => s.key)).toEqual([
      alice,
      aliceReader,
      bob,
      sessionKey("login-a2", "user-alice", "support-assistant"),
    ]);
    // Each principal keeps getting its own back.
    expect(acquire(bob)).toBe(sessions[2]);
    expect(acquire(aliceReader)).toBe(sessions[1]);
    expect(pool.size).toBe(4);
  });
});

describe("the cap", () => {
  it("closes the least recently used idle session beyond maxSessions; its principal gets a new one", () => {
    openPool(2);
    const a = acquire(alice);
    const b = acquire(bob);
    acquire(alice); // Alice used again: Bob is now the least recently used
    const c = acquire(carol);

    expect(pool.size).toBe(2);
    expect(b.closes).toBe(1);
    expect([a.closes, c.closes]).toEqual([0, 0]);
    expect(acquire(alice)).toBe(a);
    expect(acquire(carol)).toBe(c);

    const bAgain = acquire(bob);
    expect(bAgain).not.toBe(b);
    expect(bAgain.closes).toBe(0);
    expect(a.closes).toBe(1); // Alice was least recently used this time
    expect(pool.size).toBe(2);
  });

  it("never closes a busy session to make room: the next idle one goes instead", () => {
    openPool(2);
    const a = acquire(alice);
    const endCall = a.startCall(); // a call runs on Alice's session
    const b = acquire(bob);
    const c = acquire(carol); // over the cap: Alice's is the oldest, but busy

    expect(a.closes).toBe(0);
    expect(b.closes).toBe(1);
    expect(pool.size).toBe(2);
    expect(acquire(alice)).toBe(a); // still pooled, the running call undisturbed

    // Once idle it is an ordinary candidate again.
    endCall();
    acquire(carol); // Alice's is now the least recently used idle one
    acquire(dave);
    expect(a.closes).toBe(1);
    expect(c.closes).toBe(0);
    expect(pool.size).toBe(2);
  });

  it("leaves busy sessions alone even when every pooled session is busy", () => {
    openPool(2);
    const a = acquire(alice);
    const b = acquire(bob);
    const ends = [a.startCall(), b.startCall()];
    acquire(carol);
    acquire(dave);

    expect([a.closes, b.closes]).toEqual([0, 0]);
    expect(acquire(alice)).toBe(a);
    expect(acquire(bob)).toBe(b);
    for (const end of ends) end();
  });

  // Found by this spec: the session just made for a new principal was evicted and closed before the
  // caller's call started on it when every other one was busy, and the pool forgot it — the call ran
  // on a session nobody would close. The cap is exceeded until a busy one goes idle.
  it("does not close the session it just handed out while all the others are busy", () => {
    openPool(1);
    const a = acquire(alice);
    a.startCall();
    const b = acquire(bob);
    expect(b.closes).toBe(0);
    expect(acquire(bob)).toBe(b);
  });
});

describe("idle sessions", () => {
  it("are closed once unused for idleMs; a session used meanwhile is kept", () => {
    openPool(10);
    const a = acquire(alice);
    const b = acquire(bob);
    vi.advanceTimersByTime((IDLE_MS * 3) / 4);
    b.startCall()(); // Bob's session ran a call meanwhile
    // Swept within idleMs plus one sweep interval (idleMs / 2) of its last use.
    vi.advanceTimersByTime((IDLE_MS * 3) / 4 + 1_000);

    expect(a.closes).toBe(1);
    expect(b.closes).toBe(0);
    expect(pool.size).toBe(1);
    expect(acquire(alice)).not.toBe(a);
    expect(acquire(bob)).toBe(b);
  });

  it("are never swept while a call runs on them, however long it takes; swept after it ends", () => {
    openPool(10);
    const a = acquire(alice);
    const endCall = a.startCall();
    vi.advanceTimersByTime(IDLE_MS * 5);
    expect(a.closes).toBe(0);
    expect(acquire(alice)).toBe(a);

    endCall();
    vi.advanceTimersByTime(IDLE_MS + IDLE_MS / 2);
    expect(a.closes).toBe(1);
    expect(pool.size).toBe(0);
  });
});

describe("a revoked login session", () => {
  it("drops exactly that login session's sessions, busy or not, and no other login's", () => {
    openPool(10);
    const a = acquire(alice);
    const aReader = acquire(aliceReader);
    aReader.startCall();
    // A login session whose id starts with the revoked one's: another session, kept.
    const lookalike = acquire(sessionKey("login-a-2", "user-alice", "support-assistant"));
    const b = acquire(bob);

    expect(pool.dropPrefix(sessionKeyPrefix("login-a"))).toBe(2);
    expect([a.closes, aReader.closes]).toEqual([1, 1]);
    expect([lookalike.closes, b.closes]).toEqual([0, 0]);
    expect(pool.size).toBe(2);
    expect(acquire(alice)).not.toBe(a);
    expect(pool.dropPrefix(sessionKeyPrefix("login-unknown"))).toBe(0);
  });
});

describe("close", () => {
  it("closes every session, busy ones included, and forgets them", async () => {
    openPool(10);
    const sessions = [acquire(alice), acquire(bob)];
    sessions[1]?.startCall();
    await pool.close();
    expect(sessions.map((s) => s.closes)).toEqual([1, 1]);
    expect(pool.size).toBe(0);
  });
});
