import { createClient, createRouterTransport } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { Health } from "#gen/grpc/health/v1/health_pb.js";
import { RevocationService } from "#gen/supportext/auth/v1/revocation_pb.js";
import { AuthError } from "../auth/auth-error.js";
import { createServiceClient } from "../client/service-client.js";
import { currentCallScope, runInCallScope } from "../propagation/call-scope.js";
import { createHealth, ServingStatus } from "../server/health.js";
import { reportRevocationHealth } from "../service/revocation-health.js";
import { freePort } from "../testing/free-port.js";
import { captureLogs } from "../testing/log-capture.js";
import { feedState } from "./feed-state.js";
import { reconnectDelayMs } from "./reconnect-backoff.js";
import {
  createRevocationWatcher,
  type RevocationWatcher,
  type RevokedSessionEvent,
} from "./revocation-watcher.js";
import { startFakeRevocationFeed } from "./testing/fake-revocation-feed.js";

/**
 * The watcher against a real loopback server speaking RevocationService (scripted: see
 * testing/fake-revocation-feed.ts). Heartbeat 100 ms → live window 250 ms; staleness limit 1 s.
 * Waits are conditions with generous timeouts, never assertions on how fast something happened.
 */

const HEARTBEAT_MS = 100;
const LIMIT_MS = 1_000;
const RETENTION_MS = 60_000;

async function waitFor(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(clientOptions: { defaultTimeoutMs?: number } = {}, heartbeatMs = HEARTBEAT_MS) {
  const logs = captureLogs("watcher-test");
  const feed = await startFakeRevocationFeed({
    logger: logs.logger,
    heartbeatMs,
    port: await freePort(),
  });
  cleanups.push(() => feed.stop());
  const client = createServiceClient(RevocationService, feed.url, clientOptions);
  const watch = (): RevocationWatcher => {
    const watcher = createRevocationWatcher({
      client,
      logger: logs.logger,
      heartbeatMs,
      stalenessLimitMs: Math.max(LIMIT_MS, 10 * heartbeatMs),
      retentionMs: RETENTION_MS,
      reconnect: { initialMs: 20, maxMs: 200 },
    });
    cleanups.push(() => watcher.close());
    return watcher;
  };
  return { logs, feed, watch };
}

describe("revocation watcher", () => {
  it("learns revocations from the snapshot and as they happen; each is announced once; old ones ignored", async () => {
    const { feed, watch } = await setup();
    feed.revoke("s-before");
    feed.revoke("s-ancient", Date.now() - RETENTION_MS - 1_000);
    const watcher = watch();
    const events: RevokedSessionEvent[] = [];
    watcher.onRevoked((e) => events.push(e));
    expect(watcher.state().status).toBe("failed"); // nothing known yet: fail closed
    expect(await watcher.ready(10_000)).toBe(true);
    expect(watcher.isRevoked("s-before")).toBe(true);
    expect(watcher.isRevoked("s-ancient")).toBe(false);
    expect(watcher.isRevoked("s-other")).toBe(false);

    const pushedAt = performance.now();
    let seenAt = 0;
    watcher.onRevoked((e) => {
      if (e.sessionId === "s-live") seenAt = performance.now();
    });
    feed.revoke("s-live", Date.now(), "admin");
    await waitFor(() => watcher.isRevoked("s-live"));
    console.log(`revocation pushed → watcher knows it: ${(seenAt - pushedAt).toFixed(2)} ms`);
    expect(events.map((e) => [e.sessionId, e.reason])).toEqual([
      ["s-before", "logout"],
      ["s-live", "admin"],
    ]);
    expect(watcher.state().status).toBe("live");
    expect(() => watcher.assertServing()).not.toThrow();
  });

  it("learns removed signing keys from the snapshot and as they happen, and never forgets one", async () => {
    const { feed, watch, logs } = await setup();
    feed.removeKey("kid-before");
    const watcher = watch();
    expect(await watcher.ready(10_000)).toBe(true);
    expect(watcher.isKeyRemoved("kid-before")).toBe(true);
    expect(watcher.isKeyRemoved("kid-live")).toBe(false);
    feed.removeKey("kid-live");
    await waitFor(() => watcher.isKeyRemoved("kid-live"));
    expect(
      logs
        .records()
        .filter((l) => l.msg === "signing key removed by the issuer: its tokens are refused from now on"),
    ).toHaveLength(2);
    // A later snapshot without them (the issuer's horizon passed) does not make them trusted again:
    // whoever holds a removed key can sign tokens that outlive any horizon.
    feed.forgetRemovedKeys();
    const opened = feed.calls.length;
    await feed.stop();
    await feed.start();
    await waitFor(() => feed.calls.length > opened && watcher.state().status === "live");
    expect(watcher.isKeyRemoved("kid-before")).toBe(true);
    expect(watcher.isKeyRemoved("kid-live")).toBe(true);
  });

  it("goes live → stale → failed while the feed is down, fails closed and reports health; back live with a fresh snapshot", async () => {
    const { feed, watch, logs } = await setup();
    const watcher = watch();
    const health = createHealth();
    reportRevocationHealth(watcher, health);
    const healthClient = createClient(
      Health,
      createRouterTransport((r) => health.register(r)),
    );
    const overall = async () => (await healthClient.check({ service: "" })).status;
    expect(await overall()).toBe(ServingStatus.NOT_SERVING); // until the first snapshot
    const statuses: string[] = [];
    watcher.onStateChange((s) => statuses.push(s.status));
    const events: string[] = [];
    watcher.onRevoked((e) => events.push(e.sessionId));
    expect(await watcher.ready(10_000)).toBe(true);
    expect(await overall()).toBe(ServingStatus.SERVING);

    await feed.stop();
    await waitFor(() => watcher.state().status === "stale");
    // Stale: still serving, health still SERVING (bounded staleness), one warning.
    expect(() => watcher.assertServing()).not.toThrow();
    expect(await overall()).toBe(ServingStatus.SERVING);
    // Revoked while the feed is down: nobody is told now.
    feed.revokeQuietly("s-meanwhile");
    await waitFor(() => watcher.state().status === "failed");
    let refusal: unknown;
    try {
      watcher.assertServing();
    } catch (err) {
      refusal = err;
    }
    expect(refusal).toBeInstanceOf(AuthError);
    expect((refusal as AuthError).reason).toBe("revocation_unknown");
    expect((refusal as AuthError).message).toMatch(/revocation feed unavailable for \d+ s/);
    // Health follows the state-change notification, which a loaded machine may deliver a little
    // after the state can be computed as failed.
    let status = await overall();
    for (
      const deadline = Date.now() + 5_000;
      status !== ServingStatus.NOT_SERVING && Date.now() < deadline;
    ) {
      await new Promise((r) => setTimeout(r, 10));
      status = await overall();
    }
    expect(status).toBe(ServingStatus.NOT_SERVING);

    await feed.start();
    await waitFor(() => watcher.state().status === "live");
    expect(watcher.isRevoked("s-meanwhile")).toBe(true); // from the fresh snapshot: nothing missed
    expect(events).toEqual(["s-meanwhile"]);
    expect(await overall()).toBe(ServingStatus.SERVING);
    expect(statuses).toEqual(["live", "stale", "failed", "live"]);
    const warnings = logs
      .records()
      .filter(
        (r) => r.msg === "revocation feed silent: serving on what it last said until the staleness limit",
      );
    expect(warnings).toHaveLength(1);
  });

  it("drops a stream that goes silent without an error and resubscribes", async () => {
    const { feed, watch } = await setup();
    const watcher = watch();
    expect(await watcher.ready(10_000)).toBe(true);
    expect(feed.calls).toHaveLength(1);
    feed.silence(true);
    await waitFor(() => feed.calls.length >= 2);
    feed.silence(false);
    await waitFor(() => watcher.state().status === "live");
    await waitFor(() => feed.openStreams === 1);
  });

  it("keeps one stream open past the client's default deadline, and sends no user credential from inside a call", async () => {
    // Heartbeats 5 s apart: the watcher starts over only after 12.5 s of silence, which no stall of
    // a loaded machine reaches, so the one reason left for a second stream would be the client's
    // deadline cutting the first — what this checks.
    const { feed, watch } = await setup({ defaultTimeoutMs: 300 }, 5_000);
    // Created while handling a user's call: the scope holds their token.
    const watcher = runInCallScope(() => {
      Object.assign(currentCallScope() ?? {}, { credential: "user-token-that-must-not-leak" });
      return watch();
    });
    expect(await watcher.ready(10_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(watcher.state().status).toBe("live");
    expect(feed.calls).toEqual([null]); // one call, no authorization header
  });
});

describe("feed state and backoff", () => {
  const limits = { heartbeatMs: 2_000, stalenessLimitMs: 10_000 };
  it("live within 2.5 heartbeats, stale until the limit, failed beyond it or before any message", () => {
    const clock = { startedAt: 0, lastMessageAt: 1_000, liveSince: 500 };
    expect(feedState(clock, limits, 6_000)).toEqual({ status: "live", since: 500, lastMessageAt: 1_000 });
    expect(feedState(clock, limits, 6_001)).toEqual({ status: "stale", since: 6_000, lastMessageAt: 1_000 });
    expect(feedState(clock, limits, 11_000).status).toBe("stale");
    expect(feedState(clock, limits, 11_001)).toEqual({
      status: "failed",
      since: 11_000,
      lastMessageAt: 1_000,
    });
    expect(feedState({ ...clock, lastMessageAt: undefined }, limits, 1).status).toBe("failed");
    // A limit shorter than the live window still bounds staleness.
    expect(feedState(clock, { heartbeatMs: 2_000, stalenessLimitMs: 1_000 }, 2_500).status).toBe("failed");
  });

  it("reconnects after jittered delays that double and stay bounded", () => {
    for (let i = 0; i < 50; i++) {
      const first = reconnectDelayMs(0);
      expect(first).toBeGreaterThanOrEqual(50);
      expect(first).toBeLessThanOrEqual(100);
      const late = reconnectDelayMs(30);
      expect(late).toBeGreaterThanOrEqual(1_000);
      expect(late).toBeLessThanOrEqual(2_000);
    }
    expect(reconnectDelayMs(3, { initialMs: 100, maxMs: 10_000 }, () => 1)).toBe(800);
  });
});
