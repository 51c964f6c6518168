import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import type { WatchResponse } from "#gen/supportext/auth/v1/revocation_pb.js";
import { captureLogs } from "#kit/testing/log-capture.js";
import { createRemovedKeyList } from "../keys/removed-key-list.js";
import { createRevocationList } from "../sessions/revocation-list.js";
import { createRevocationFeed } from "./revocation-feed.js";

/** The feed's fan-out on its own (no server): ordering, heartbeat, bounds, endings. */

const RETENTION_MS = 60_000;

function setup(
  options: { heartbeatMs?: number; maxQueuedMessages?: number; snapshotChunkSize?: number } = {},
) {
  const logs = captureLogs("feed-test");
  const list = createRevocationList(RETENTION_MS);
  const removedKeys = createRemovedKeyList(RETENTION_MS);
  const feed = createRevocationFeed({
    list,
    removedKeys,
    logger: logs.logger,
    heartbeatMs: options.heartbeatMs ?? 60_000,
    ...(options.maxQueuedMessages ? { maxQueuedMessages: options.maxQueuedMessages } : {}),
    ...(options.snapshotChunkSize ? { snapshotChunkSize: options.snapshotChunkSize } : {}),
  });
  return { logs, list, removedKeys, feed };
}

const ids = (m: WatchResponse | undefined) => m?.sessions.map((s) => s.sessionId);

async function pull(it: AsyncIterator<WatchResponse>): Promise<WatchResponse | undefined> {
  const r = await it.next();
  return r.done ? undefined : r.value;
}

describe("revocation feed", () => {
  it("sends the snapshot first, then one message per revocation, in order, to every subscriber", async () => {
    const { list, feed } = setup();
    list.add("old", new Date(Date.now() - 2 * RETENTION_MS), "logout"); // aged out: not in the snapshot
    list.add("s1", new Date(Date.now() - 1_000), "logout");
    const a = feed.subscribe(new AbortController().signal);
    const b = feed.subscribe(new AbortController().signal);
    const snapA = await pull(a);
    expect(snapA?.snapshot).toBe(true);
    expect(ids(snapA)).toEqual(["s1"]);
    expect(snapA?.sessions[0]?.reason).toBe("logout");
    expect(Number(snapA?.sessions[0]?.revokedAtMs)).toBeGreaterThan(Date.now() - 5_000);
    expect(ids(await pull(b))).toEqual(["s1"]);

    list.add("s2", new Date(), "refresh_token_reuse");
    list.add("s2", new Date(), "logout"); // the same session again: not announced twice
    list.add("s3", new Date(), "admin");
    for (const it of [a, b]) {
      const m2 = await pull(it);
      expect([m2?.snapshot, ids(m2), m2?.sessions[0]?.reason]).toEqual([
        false,
        ["s2"],
        "refresh_token_reuse",
      ]);
      expect(ids(await pull(it))).toEqual(["s3"]);
    }
    expect(feed.subscriberCount).toBe(2);
    await a.return(undefined);
    expect(feed.subscriberCount).toBe(1);
    feed.close();
  });

  it("sends removed signing keys in the snapshot's first message and each new one live, once", async () => {
    const { list, removedKeys, feed } = setup({ snapshotChunkSize: 1 });
    list.add("s1", new Date(), "logout");
    list.add("s2", new Date(), "logout");
    removedKeys.add({ kid: "k-old", removedAt: new Date(Date.now() - 2 * RETENTION_MS) }); // past the horizon
    removedKeys.add({ kid: "k1", removedAt: new Date(Date.now() - 1_000) });
    const stream = feed.subscribe(new AbortController().signal);
    const first = await pull(stream);
    const second = await pull(stream);
    expect([first?.snapshot, ids(first), first?.removedKeys.map((k) => k.kid)]).toEqual([
      true,
      ["s1"],
      ["k1"],
    ]);
    expect([second?.snapshot, ids(second), second?.removedKeys.length]).toEqual([true, ["s2"], 0]);
    expect(Number(first?.removedKeys[0]?.removedAtMs)).toBeGreaterThan(Date.now() - 5_000);

    removedKeys.add({ kid: "k2", removedAt: new Date() });
    removedKeys.add({ kid: "k2", removedAt: new Date() }); // heard again (NOTIFY and reload): sent once
    list.add("s3", new Date(), "admin");
    const live = await pull(stream);
    expect([live?.snapshot, ids(live), live?.removedKeys.map((k) => k.kid)]).toEqual([false, [], ["k2"]]);
    expect(ids(await pull(stream))).toEqual(["s3"]);
    feed.close();
  });

  it("a revocation is in the snapshot or after it, never lost in between", async () => {
    const { list, feed } = setup();
    const stream = feed.subscribe(new AbortController().signal);
    const first = stream.next(); // subscribes now
    list.add("during", new Date(), "logout");
    const snapshot = (await first).value as WatchResponse;
    const seen = [...(ids(snapshot) ?? []), ...(ids(await pull(stream)) ?? [])];
    expect(seen).toContain("during");
    feed.close();
  });

  it("splits a large snapshot into several snapshot messages", async () => {
    const { list, feed } = setup({ snapshotChunkSize: 2 });
    for (const id of ["a", "b", "c", "d", "e"]) list.add(id, new Date(), "logout");
    const stream = feed.subscribe(new AbortController().signal);
    const parts = [await pull(stream), await pull(stream), await pull(stream)];
    expect(parts.map((p) => [p?.snapshot, ids(p)])).toEqual([
      [true, ["a", "b"]],
      [true, ["c", "d"]],
      [true, ["e"]],
    ]);
    feed.close();
    // An empty list still sends one (empty) snapshot.
    const empty = setup();
    const first = await pull(empty.feed.subscribe(new AbortController().signal));
    expect([first?.snapshot, first?.sessions.length]).toEqual([true, 0]);
    empty.feed.close();
  });

  it("sends an empty heartbeat every heartbeat interval", async () => {
    const { feed } = setup({ heartbeatMs: 50 });
    const stream = feed.subscribe(new AbortController().signal);
    await pull(stream); // snapshot
    for (let i = 0; i < 3; i++) {
      const beat = await pull(stream);
      expect([beat?.snapshot, beat?.sessions.length]).toEqual([false, 0]);
    }
    feed.close();
  });

  it("cuts off a subscriber that falls behind — bounded memory — while the others get everything", async () => {
    const { list, feed, logs } = setup({ maxQueuedMessages: 5 });
    const slow = feed.subscribe(new AbortController().signal);
    const fast = feed.subscribe(new AbortController().signal);
    await pull(slow);
    await pull(fast);
    const received: string[] = [];
    for (let i = 0; i < 20; i++) {
      list.add(`s${i}`, new Date(), "logout");
      expect(Math.max(...feed.queueDepths())).toBeLessThanOrEqual(5);
      received.push(...(ids(await pull(fast)) ?? []));
    }
    expect(received).toEqual(Array.from({ length: 20 }, (_, i) => `s${i}`));
    expect(feed.subscriberCount).toBe(1); // the slow one is gone, its queue dropped
    // When it reads again it learns why, and resubscribes for a fresh snapshot.
    const err = await slow.next().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.ResourceExhausted);
    expect(logs.lines.some((l) => l.includes("revocation feed subscriber too slow"))).toBe(true);
    feed.close();
  });

  it("ends streams cleanly when their signal aborts or the feed closes; refuses new ones after", async () => {
    const { feed } = setup();
    const draining = new AbortController();
    const a = feed.subscribe(draining.signal);
    const b = feed.subscribe(new AbortController().signal);
    await pull(a);
    await pull(b);
    const pendingA = a.next();
    draining.abort();
    expect((await pendingA).done).toBe(true);
    await expect(feed.subscribe(draining.signal).next()).rejects.toMatchObject({ code: Code.Unavailable });

    const pendingB = b.next();
    feed.close();
    expect((await pendingB).done).toBe(true);
    await expect(feed.subscribe(new AbortController().signal).next()).rejects.toMatchObject({
      code: Code.Unavailable,
    });
    expect(feed.subscriberCount).toBe(0);
  });
});
