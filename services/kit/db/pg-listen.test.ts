import { randomBytes } from "node:crypto";
import * as net from "node:net";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { captureLogs } from "../testing/log-capture.js";
import { createPgListen, type PgListenSettings } from "./pg-listen.js";

/**
 * `listen` on PostgreSQL (pg-listen.ts), driven directly: one dedicated connection per LISTEN,
 * notifications of its channel delivered when committed, a lost connection re-opened with backoff
 * and `onReconnected` called (never for the first connection), a silently dead link found by the
 * ping, and `close`/`closeAll` ending the connection and the delivery. Needs the PostgreSQL of
 * DATABASE_URL; a loopback TCP proxy in front of it plays an unreachable server and a dead link.
 */
const databaseUrl = process.env.DATABASE_URL;
const SETTLE_MS = 300;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await sleep(20);
  }
}

const uniqueChannel = () => `pg_listen_${randomBytes(5).toString("hex")}`;

/**
 * A TCP proxy to PostgreSQL: forwards, refuses new connections, holds new connections unanswered
 * until released, or goes silent on open ones.
 */
interface Proxy {
  readonly port: number;
  refuse(on: boolean): void;
  /** New connections wait, unanswered, until `hold(false)` lets them through. */
  hold(on: boolean): void;
  /** Connections waiting under `hold`. */
  readonly held: number;
  /** Connections being forwarded. */
  readonly open: number;
  /** Open connections stop carrying data both ways, without closing (a dead link). */
  silenceOpenConnections(): void;
  close(): Promise<void>;
}

async function startProxy(target: { host: string; port: number }): Promise<Proxy> {
  let refusing = false;
  let holding = false;
  let waiting: (() => void)[] = [];
  const sockets = new Set<net.Socket>();
  const pairs = new Set<{ a: net.Socket; b: net.Socket; silent: boolean }>();
  const forward = (a: net.Socket) => {
    const b = net.connect(target.port, target.host);
    sockets.add(b);
    const pair = { a, b, silent: false };
    pairs.add(pair);
    a.on("data", (d) => {
      if (!pair.silent) b.write(d);
    });
    b.on("data", (d) => {
      if (!pair.silent) a.write(d);
    });
    const end = () => {
      pairs.delete(pair);
      a.destroy();
      b.destroy();
    };
    a.on("close", end).on("error", end);
    b.on("close", end).on("error", end);
    a.resume();
  };
  const server = net.createServer((a) => {
    sockets.add(a);
    a.on("close", () => sockets.delete(a));
    if (refusing) {
      a.destroy();
      return;
    }
    a.pause();
    if (holding) waiting.push(() => forward(a));
    else forward(a);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: (server.address() as net.AddressInfo).port,
    refuse(on) {
      refusing = on;
    },
    hold(on) {
      holding = on;
      if (!on) for (const release of waiting.splice(0)) release();
    },
    get held() {
      return waiting.length;
    },
    get open() {
      return pairs.size;
    },
    silenceOpenConnections() {
      for (const pair of pairs) pair.silent = true;
    },
    async close() {
      waiting = [];
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe.skipIf(!databaseUrl)("pg listen (PostgreSQL)", () => {
  const url = databaseUrl ?? "";
  let writer: pg.Client;
  let admin: pg.Client;
  const toClose: { closeAll(): Promise<void> }[] = [];

  beforeAll(async () => {
    writer = new pg.Client({ connectionString: url });
    admin = new pg.Client({ connectionString: url });
    await Promise.all([writer.connect(), admin.connect()]);
  });
  afterAll(async () => {
    await Promise.all([writer?.end(), admin?.end()]);
  });
  afterEach(async () => {
    await Promise.all(toClose.splice(0).map((l) => l.closeAll()));
  });

  /** A listen factory whose connections carry a unique application_name (to find their backends). */
  function listener(overrides: Partial<PgListenSettings> = {}, clientConfig: pg.ClientConfig = {}) {
    const applicationName = `support-ext-test:${randomBytes(5).toString("hex")}`;
    const logs = captureLogs("pg-listen-test");
    const made = createPgListen({
      clientConfig: { connectionString: url, application_name: applicationName, ...clientConfig },
      safe: (err) => (err instanceof Error ? err.message : String(err)),
      logger: logs.logger,
      reconnect: { initialMs: 20, maxMs: 200 },
      ...overrides,
    });
    toClose.push(made);
    const backends = async () => {
      const { rows } = await admin.query<{ pid: number }>(
        "SELECT pid FROM pg_stat_activity WHERE application_name = $1",
        [applicationName],
      );
      return rows.map((r) => r.pid);
    };
    const logged = (msg: string) => logs.records().filter((r) => r.msg === msg);
    return { ...made, backends, logged };
  }

  const notify = (channel: string, payload: string) =>
    writer.query("SELECT pg_notify($1, $2)", [channel, payload]);

  /** Runs `fn` in a transaction of the writer, ended with `end` (ROLLBACK whenever `fn` throws). */
  const inTransaction = async (end: "COMMIT" | "ROLLBACK", fn: () => Promise<void>) => {
    await writer.query("BEGIN");
    try {
      await fn();
    } catch (err) {
      await writer.query("ROLLBACK");
      throw err;
    }
    await writer.query(end);
  };

  it("delivers its channel's committed notifications, in order, and nothing else", async () => {
    const { listen } = listener();
    const channel = uniqueChannel();
    const got: string[] = [];
    await listen(channel, (p) => got.push(p));

    await notify(channel, "one");
    await until(() => got.length === 1, "the first notification arrived");
    await notify(uniqueChannel(), "another channel");
    await inTransaction("ROLLBACK", async () => {
      await notify(channel, "rolled back");
    });
    await inTransaction("COMMIT", async () => {
      await notify(channel, "two");
      await notify(channel, "");
      await sleep(SETTLE_MS);
      expect(got).toEqual(["one"]); // nothing of an open transaction yet
    });
    await notify(channel, "three");
    await until(() => got.length >= 4, "four notifications arrived");
    await sleep(SETTLE_MS);
    expect(got).toEqual(["one", "two", "", "three"]);
  });

  it("re-opens a connection the server killed, LISTENs again and calls onReconnected once", async () => {
    const { listen, backends, logged } = listener();
    const channel = uniqueChannel();
    const got: string[] = [];
    let reconnected = 0;
    await listen(channel, (p) => got.push(p), { onReconnected: () => reconnected++ });
    const [pid] = await backends();
    expect(pid).toBeDefined();
    await notify(channel, "before");
    await until(() => got.length === 1, "the first notification arrived");
    expect(reconnected).toBe(0); // not for the first connection

    await admin.query("SELECT pg_terminate_backend($1)", [pid]);
    await until(() => reconnected === 1, "onReconnected was called");
    const pids = await backends();
    expect(pids).toHaveLength(1);
    expect(pids[0]).not.toBe(pid);
    await notify(channel, "after");
    await until(() => got.length === 2, "a notification arrived on the new connection");
    expect(got).toEqual(["before", "after"]);
    expect(reconnected).toBe(1);
    expect(logged("LISTEN connection lost; reconnecting")).toHaveLength(1);
    expect(logged("LISTEN connection restored")).toHaveLength(1);
  });

  it("close stops the delivery and ends the connection; closing twice is harmless", async () => {
    const { listen, backends } = listener();
    const channel = uniqueChannel();
    const got: string[] = [];
    const listening = await listen(channel, (p) => got.push(p));
    const sentinel: string[] = [];
    const { listen: listenToo } = listener();
    await listenToo(channel, (p) => sentinel.push(p));
    await notify(channel, "first");
    await until(() => got.length === 1 && sentinel.length === 1, "both heard the first");

    await listening.close();
    await listening.close();
    await until(async () => (await backends()).length === 0, "the connection ended");
    await notify(channel, "late");
    await notify(channel, "later");
    await until(() => sentinel.length === 3, "the other listener heard both");
    await sleep(SETTLE_MS);
    expect(got).toEqual(["first"]);
  });

  it("a listener closed while reconnecting stays closed", async () => {
    const { listen, backends, logged } = listener({ reconnect: { initialMs: 200, maxMs: 200 } });
    const channel = uniqueChannel();
    let reconnected = 0;
    const listening = await listen(channel, () => undefined, { onReconnected: () => reconnected++ });
    const [pid] = await backends();
    await admin.query("SELECT pg_terminate_backend($1)", [pid]);
    await until(() => logged("LISTEN connection lost; reconnecting").length === 1, "the loss was noticed");
    await listening.close();
    // Well past every backoff it could have waited.
    await sleep(2_000);
    expect(reconnected).toBe(0);
    expect(await backends()).toEqual([]);
  });

  it("closeAll ends every LISTEN it made", async () => {
    const { listen, closeAll, backends } = listener();
    const got: string[] = [];
    const channels = [uniqueChannel(), uniqueChannel()];
    for (const channel of channels) await listen(channel, (p) => got.push(p));
    expect(await backends()).toHaveLength(1); // one connection for every channel
    await closeAll();
    await until(async () => (await backends()).length === 0, "the connection ended");
    for (const channel of channels) await notify(channel, "after closeAll");
    await sleep(SETTLE_MS);
    expect(got).toEqual([]);
  });

  it("every channel on one connection: each hears its own, one leaving keeps the others, a loss reconnects them all", async () => {
    const { listen, backends, logged } = listener();
    const [a, b, c] = [uniqueChannel(), uniqueChannel(), uniqueChannel()];
    const heard: Record<string, string[]> = { a: [], b: [], b2: [], c: [] };
    const reconnected: string[] = [];
    await listen(a, (p) => heard.a?.push(p), { onReconnected: () => reconnected.push("a") });
    const leaving = await listen(b, (p) => heard.b?.push(p), { onReconnected: () => reconnected.push("b") });
    await listen(b, (p) => heard.b2?.push(p), { onReconnected: () => reconnected.push("b2") });
    await listen(c, (p) => heard.c?.push(p), { onReconnected: () => reconnected.push("c") });
    const [pid] = await backends();
    expect(await backends()).toEqual([pid]);

    await notify(a, "to a");
    await notify(b, "to b");
    await until(() => heard.a?.length === 1 && heard.b2?.length === 1, "a and b heard theirs");
    expect(heard).toEqual({ a: ["to a"], b: ["to b"], b2: ["to b"], c: [] });

    await leaving.close(); // b's other subscriber stays, and so does the channel
    await notify(b, "b again");
    await until(() => heard.b2?.length === 2, "b's remaining subscriber heard it");
    expect(heard.b).toEqual(["to b"]);

    await admin.query("SELECT pg_terminate_backend($1)", [pid]);
    await until(() => reconnected.length === 3, "every remaining subscriber was told");
    expect(reconnected.sort()).toEqual(["a", "b2", "c"]);
    expect(logged("LISTEN connection lost; reconnecting")).toHaveLength(1);
    const after = await backends();
    expect(after).toHaveLength(1);
    expect(after[0]).not.toBe(pid);
    await notify(c, "to c, after");
    await until(() => heard.c?.length === 1, "c hears on the new connection");
  });

  it("a handler that throws does not take the connection down", async () => {
    const { listen, logged } = listener();
    const channel = uniqueChannel();
    const got: string[] = [];
    await listen(channel, (p) => {
      if (p === "boom") throw new Error("handler bug");
      got.push(p);
    });
    await notify(channel, "boom");
    await notify(channel, "fine");
    await until(() => got.length === 1, "the next notification arrived");
    expect(got).toEqual(["fine"]);
    expect(logged("LISTEN handler failed")).toHaveLength(1);
  });

  it("refuses a channel name that is not a plain identifier, before connecting", async () => {
    const { listen, backends } = listener();
    for (const bad of ["Upper", "semi;colon", "x; DROP TABLE t", "", "1digit", "a".repeat(64)]) {
      await expect(
        listen(bad, () => undefined),
        bad,
      ).rejects.toThrow(/invalid LISTEN channel/);
    }
    expect(await backends()).toEqual([]);
  });

  describe("through a proxy", () => {
    let proxy: Proxy;
    let viaProxy: pg.ClientConfig;

    beforeAll(async () => {
      const target = new URL(url);
      proxy = await startProxy({ host: target.hostname, port: Number(target.port || 5432) });
      viaProxy = {
        connectionString: undefined,
        host: "127.0.0.1",
        port: proxy.port,
        user: decodeURIComponent(target.username) || "postgres",
        password: decodeURIComponent(target.password) || undefined,
        database: target.pathname.slice(1),
      };
    });
    afterAll(async () => {
      await proxy?.close();
    });
    afterEach(() => {
      proxy.refuse(false);
      proxy.hold(false);
    });

    it("rejects when the first connection fails, with the error passed through `safe`", async () => {
      proxy.refuse(true);
      const { listen } = listener({ safe: () => "secret-free description" }, viaProxy);
      const channel = uniqueChannel();
      await expect(listen(channel, () => undefined)).rejects.toThrow(
        `cannot LISTEN on ${channel}: secret-free description`,
      );
    });

    it("keeps trying while the server is unreachable, and LISTENs again once it is back", async () => {
      const { listen, backends, logged } = listener({}, viaProxy);
      const channel = uniqueChannel();
      const got: string[] = [];
      let reconnected = 0;
      await listen(channel, (p) => got.push(p), { onReconnected: () => reconnected++ });
      const [pid] = await backends();

      proxy.refuse(true);
      await admin.query("SELECT pg_terminate_backend($1)", [pid]);
      await until(() => logged("LISTEN connection lost; reconnecting").length === 1, "the loss was noticed");
      // Several attempts fail (the backoff is 20–200 ms) before the server is reachable again.
      await sleep(1_500);
      expect(reconnected).toBe(0);
      expect(await backends()).toEqual([]);

      proxy.refuse(false);
      await until(() => reconnected === 1, "onReconnected was called");
      const restored = logged("LISTEN connection restored");
      expect(restored).toHaveLength(1);
      expect(restored[0]?.attempts).toBeGreaterThan(1);
      await notify(channel, "back");
      await until(() => got.length === 1, "the notification arrived");
      expect(got).toEqual(["back"]);
    });

    it("a listener closed while its new connection is being opened ends that connection", async () => {
      const { listen, backends, logged } = listener({}, viaProxy);
      let reconnected = 0;
      const listening = await listen(uniqueChannel(), () => undefined, {
        onReconnected: () => reconnected++,
      });
      const [pid] = await backends();

      proxy.hold(true);
      await admin.query("SELECT pg_terminate_backend($1)", [pid]);
      await until(() => proxy.held === 1, "the reconnection is under way");
      await listening.close();
      proxy.hold(false); // the connection it asked for now opens...
      expect(proxy.open).toBe(1);
      await until(() => proxy.open === 0, "that connection was ended"); // ...and is ended at once
      // Its server process ends a moment after the client hangs up (a busy machine: not at once).
      await until(async () => (await backends()).length === 0, "its backend ended");
      expect(reconnected).toBe(0);
      expect(logged("LISTEN connection restored")).toEqual([]);
    });

    it("a channel's second subscriber is not answered before the server listens on it", {
      timeout: 60_000,
    }, async () => {
      // The shared connection goes silent while the first subscriber's LISTEN is on its way: the
      // second must wait for that LISTEN (a caller loads what it must not miss right after
      // `listen` resolves), and both fail with it when the link is found dead.
      const { listen } = listener({ pingIntervalMs: 100 }, viaProxy);
      await listen(uniqueChannel(), () => undefined);
      proxy.silenceOpenConnections();
      const channel = uniqueChannel();
      const settled: string[] = [];
      const first = listen(channel, () => undefined).then(
        () => settled.push("first listening"),
        () => settled.push("first failed"),
      );
      const second = listen(channel, () => undefined).then(
        () => settled.push("second listening"),
        () => settled.push("second failed"),
      );
      await sleep(500);
      expect(settled).toEqual([]);
      await Promise.all([first, second]);
      expect(settled.sort()).toEqual(["first failed", "second failed"]);
    });

    it("finds a silently dead link with its ping and replaces it", { timeout: 60_000 }, async () => {
      const { listen, backends } = listener({ pingIntervalMs: 100 }, viaProxy);
      const channel = uniqueChannel();
      const got: string[] = [];
      let reconnected = 0;
      await listen(channel, (p) => got.push(p), { onReconnected: () => reconnected++ });
      const [pid] = await backends();

      // No error, no close: the link just stops carrying anything (the ping waits 5 s for its answer).
      proxy.silenceOpenConnections();
      await until(() => reconnected === 1, "the dead link was replaced", 40_000);
      await until(async () => (await backends()).some((p) => p !== pid), "a new backend listens");
      await notify(channel, "over the new link");
      await until(() => got.includes("over the new link"), "the notification arrived");
      await admin.query("SELECT pg_terminate_backend($1)", [pid]); // the old backend, left behind
    });
  });
});
