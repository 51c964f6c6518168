import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, describe, expect, it, onTestFinished } from "vitest";
import { embeddedPostgresUrl, startEmbeddedPostgres } from "#kit/db/index.js";
import { captureLogs } from "#kit/testing/log-capture.js";
import { superviseEmbeddedPostgres } from "./postgres-supervisor.js";
import { CannotStartError } from "./supervisor.js";
import { processAlive } from "./testing/stack-harness.js";

/**
 * The runner keeps the embedded PostgreSQL as it keeps a service (docs/architecture.md, "Processes"):
 * ready once it accepts connections, restarted with backoff after a kill -9, never restarted when it
 * cannot start, stopped with its lock released.
 */
const dirs: string[] = [];
const freshDataDir = () => {
  const dir = mkdtempSync(join(tmpdir(), "pg-supervisor-"));
  dirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function until(check: () => boolean, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function selectOne(dataDir: string): Promise<unknown> {
  const client = new pg.Client({ connectionString: embeddedPostgresUrl(dataDir) });
  await client.connect();
  try {
    return (await client.query("SELECT 1 AS one")).rows[0]?.one;
  } finally {
    await client.end();
  }
}

const lines = (capture: ReturnType<typeof captureLogs>, msg: string) =>
  capture.records().filter((r) => r.msg === msg && r.process === "postgres");

describe("the runner's embedded PostgreSQL", { timeout: 180_000 }, () => {
  it("is ready once it answers, comes back after kill -9 with a new pid, and stops with its lock released", async () => {
    const dataDir = freshDataDir();
    const capture = captureLogs("stack");
    const backoff = { next: () => 100 };
    const supervised = superviseEmbeddedPostgres({ dataDir, logger: capture.logger, backoff });
    // The worker runs other files after this one: never leave a server (or its restarts) behind.
    onTestFinished(() => supervised.stop());
    await supervised.ready;
    const first = supervised.pid() as number;
    expect(processAlive(first)).toBe(true);
    expect(await selectOne(dataDir)).toBe(1);
    expect(lines(capture, "service ready").map((l) => l.pid)).toEqual([first]);

    process.kill(first, "SIGKILL");
    await until(() => lines(capture, "service restarted").length === 1);
    const second = supervised.pid() as number;
    expect(second).not.toBe(first);
    expect(lines(capture, "service crashed").map((l) => [l.pid, l.signal])).toEqual([[first, "SIGKILL"]]);
    expect(lines(capture, "restarting service").map((l) => l.delay_ms)).toEqual([100]);
    expect(await selectOne(dataDir)).toBe(1);

    await supervised.stop();
    await until(() => !processAlive(second));
    expect(existsSync(join(dataDir, "postgres.lock"))).toBe(false);
    // A stop is not a crash: nothing restarts it.
    await new Promise((r) => setTimeout(r, 300));
    expect(lines(capture, "service crashed")).toHaveLength(1);
  });

  it("a cluster already held (here by a server started beside it): one line naming the holder, the first start refused, no restart", async () => {
    const dataDir = freshDataDir();
    const quiet = { info: () => undefined, warn: () => undefined, debug: () => undefined };
    const holder = await startEmbeddedPostgres({ dataDir, logger: quiet });
    try {
      const capture = captureLogs("stack");
      const supervised = superviseEmbeddedPostgres({ dataDir, logger: capture.logger });
      await expect(supervised.ready).rejects.toBeInstanceOf(CannotStartError);
      const fatal = capture.records().filter((r) => r.level === "fatal");
      expect(fatal.map((r) => r.msg)).toEqual([
        expect.stringMatching(/^postgres cannot start: .*in use by a running stack, pid \d+/),
      ]);
      expect(lines(capture, "service cannot start; not restarting it")).toHaveLength(1);
      await new Promise((r) => setTimeout(r, 1_000));
      expect(lines(capture, "restarting service")).toEqual([]);
      await supervised.stop();
      expect(processAlive(holder.pid)).toBe(true);
    } finally {
      await holder.stop();
    }
  });

  it("stopped while its first start is under way: the start finishes, then the server stops; ready is refused", async () => {
    const dataDir = freshDataDir();
    const capture = captureLogs("stack");
    const supervised = superviseEmbeddedPostgres({ dataDir, logger: capture.logger });
    const ready = supervised.ready.then(
      () => "ready",
      (err: Error) => err.message,
    );
    await supervised.stop();
    expect(await ready).toMatch(/stopped before it was ready/);
    expect(existsSync(join(dataDir, "postgres.lock"))).toBe(false);
    expect(existsSync(join(dataDir, "postgres", "postmaster.pid"))).toBe(false);
  });
});
