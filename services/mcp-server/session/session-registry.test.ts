import type { NodeStreamableHTTPServerTransport } from "@modelcontextprotocol/node";
import type { Server } from "@modelcontextprotocol/server";
import { afterEach, describe, expect, it, vi } from "vitest";
import { captureLogs } from "#kit/testing/log-capture.js";
import { type McpSession, SessionRegistry } from "./session-registry.js";

const registries: SessionRegistry[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(registries.splice(0).map((r) => r.closeAll()));
});

function registry(options: { idleMs: number; max: number }) {
  const r = new SessionRegistry({ ...options, logger: captureLogs("mcp-server").logger });
  registries.push(r);
  return r;
}

function session(
  id: string,
  owner: string,
  loginSession = `sid-${owner}`,
): McpSession & { closed: () => boolean } {
  let closed = false;
  return {
    id,
    owner,
    userId: owner,
    loginSession,
    lastSeen: Date.now(),
    transport: {} as NodeStreamableHTTPServerTransport,
    server: {
      close: async () => {
        closed = true;
      },
    } as unknown as Server,
    closed: () => closed,
  };
}

describe("SessionRegistry.closeLoginSession", () => {
  it("closes every session opened within the revoked login, and only those", async () => {
    const r = registry({ idleMs: 60_000, max: 10 });
    const [a1, a2, other] = [
      session("a1", "alice", "s1"),
      session("a2", "alice", "s1"),
      session("a3", "alice", "s2"),
    ];
    for (const s of [a1, a2, other]) r.add(s);
    r.closeLoginSession("s1");
    await vi.waitFor(() => expect([a1.closed(), a2.closed(), other.closed()]).toEqual([true, true, false]));
    expect(r.lookup("a1", "alice")).toEqual({ status: "not_found" });
    expect(r.lookup("a3", "alice").status).toBe("ok");
  });
});

describe("SessionRegistry.lookup", () => {
  it("tells apart unknown, someone else's and one's own session", () => {
    const r = registry({ idleMs: 60_000, max: 10 });
    const a = session("a", "alice");
    r.add(a);
    expect(r.lookup("zzz", "alice")).toEqual({ status: "not_found" });
    expect(r.lookup("a", "mallory")).toEqual({ status: "not_owned", session: a });
    expect(r.lookup("a", "alice")).toEqual({ status: "ok", session: a });
  });

  it("lets only the owner's use refresh the idle timer", () => {
    vi.useFakeTimers();
    const r = registry({ idleMs: 10_000, max: 10 });
    const a = session("a", "alice");
    r.add(a);
    vi.advanceTimersByTime(6_000);
    expect(r.lookup("a", "mallory").status).toBe("not_owned");
    vi.advanceTimersByTime(6_000);
    r.sweep(Date.now());
    // 12 s after its owner last used it: idle, although a stranger presented it 6 s ago.
    expect(a.closed()).toBe(true);
    expect(r.size).toBe(0);

    const b = session("b", "bob");
    r.add(b);
    vi.advanceTimersByTime(6_000);
    expect(r.lookup("b", "bob").status).toBe("ok");
    vi.advanceTimersByTime(6_000);
    r.sweep(Date.now());
    expect(b.closed()).toBe(false);
  });

  it("lets only the owner's use move a session away from eviction (LRU)", () => {
    const r = registry({ idleMs: 60_000, max: 2 });
    const a = session("a", "alice");
    const b = session("b", "bob");
    r.add(a);
    r.add(b);
    // A stranger touching a (the least recently used) does not save it.
    expect(r.lookup("a", "mallory").status).toBe("not_owned");
    r.add(session("c", "carol"));
    expect(a.closed()).toBe(true);
    expect(b.closed()).toBe(false);
    // The owner's use does: b is now newer than c, so c goes next.
    expect(r.lookup("b", "bob").status).toBe("ok");
    const c = r.lookup("c", "carol");
    expect(c.status).toBe("ok");
    expect(r.lookup("b", "bob").status).toBe("ok");
    r.add(session("d", "dave"));
    expect(r.lookup("c", "carol").status).toBe("not_found");
    expect(r.lookup("b", "bob").status).toBe("ok");
  });
});
