import { spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { childEnv } from "../testing/child-env.js";
import { acquireDataDirLock, DataDirLockedError, dataDirLockPath } from "./data-dir-lock.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "kit-lock-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const deadPid = () =>
  spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout.toString();

describe("data-dir lock (one process per embedded database)", () => {
  it("is exclusive until released, records our pid and leaves no temp files", async () => {
    const lock = await acquireDataDirLock(dir, "chat");
    expect(lock.path).toBe(dataDirLockPath(dir, "chat"));
    expect((await readFile(join(dir, "chat.lock"), "utf8")).trim()).toBe(String(process.pid));
    const again = await acquireDataDirLock(dir, "chat").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(again).toBeInstanceOf(DataDirLockedError);
    expect(again).toMatchObject({ holderPid: process.pid, path: lock.path });
    // Other services have their own lock.
    await (await acquireDataDirLock(dir, "mcp-server")).release();
    await lock.release();
    await lock.release();
    expect(existsSync(join(dir, "chat.lock"))).toBe(false);
    await (await acquireDataDirLock(dir, "chat")).release();
    expect(await readdir(dir)).toEqual([]);
  });

  it("is gone once any of several concurrent releases resolves (a process may exit right after)", async () => {
    const lock = await acquireDataDirLock(dir, "postgres");
    const first = lock.release();
    await lock.release();
    expect(existsSync(lock.path)).toBe(false);
    // Released through and through: this process may take it again at once.
    await (await acquireDataDirLock(dir, "postgres")).release();
    await first;
  });

  it("lets only one of two concurrent opens in one process win", async () => {
    const results = await Promise.allSettled([
      acquireDataDirLock(dir, "chat"),
      acquireDataDirLock(dir, "chat"),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const lost = results.find((r) => r.status === "rejected");
    expect(lost?.reason).toBeInstanceOf(DataDirLockedError);
    for (const r of results) if (r.status === "fulfilled") await r.value.release();
  });

  it("refuses while another live process holds it", async () => {
    // Our parent (the test runner) is alive and is not us.
    await writeFile(join(dir, "chat.lock"), `${process.ppid}\n`);
    const err = await acquireDataDirLock(dir, "chat").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DataDirLockedError);
    expect((err as Error).message).toMatch(/chat\.lock is held by running process \d+/);
    expect(err).toMatchObject({ holderPid: process.ppid });
    // The refused attempt did not mark it held here either.
    await rm(join(dir, "chat.lock"));
    await (await acquireDataDirLock(dir, "chat")).release();
  });

  it("takes over a lock left by a process that is gone, an earlier incarnation with our pid, or garbage", async () => {
    for (const content of [`${deadPid()}\n`, `${process.pid}\n`, "", "not a pid"]) {
      await writeFile(join(dir, "chat.lock"), content);
      const lock = await acquireDataDirLock(dir, "chat");
      expect((await readFile(lock.path, "utf8")).trim()).toBe(String(process.pid));
      await lock.release();
    }
  });

  it("lets exactly one of several processes racing for a stale lock win", { timeout: 60_000 }, async () => {
    await writeFile(join(dir, "chat.lock"), `${deadPid()}\n`);
    const module = new URL("./data-dir-lock.ts", import.meta.url).href;
    // A barrier, not a clock: every contender says "ready" once loaded, all get "go" together, and a
    // winner holds the lock until told to release — so a slow start under load cannot turn into a
    // second, later "win" after the first released.
    const script = `
        const { acquireDataDirLock } = await import(${JSON.stringify(module)});
        const lines = (async function* () {
          let buf = "";
          for await (const chunk of process.stdin) {
            buf += chunk;
            let i;
            while ((i = buf.indexOf("\\n")) >= 0) { yield buf.slice(0, i); buf = buf.slice(i + 1); }
          }
        })();
        process.stdout.write("ready\\n");
        await lines.next(); // go
        let lock;
        try {
          lock = await acquireDataDirLock(${JSON.stringify(dir)}, "chat");
          process.stdout.write("won\\n");
        } catch (err) {
          process.stdout.write(err.name + "\\n");
        }
        await lines.next(); // release (losers wait too: every stdin stays open until the end)
        await lock?.release();
        process.exit(0);`;
    const contenders = Array.from({ length: 5 }, () => {
      const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
        stdio: ["pipe", "pipe", "inherit"],
        env: childEnv(),
      });
      child.stdin.on("error", () => undefined); // a contender that died is reported by its outcome
      let out = "";
      const said = (word: string) =>
        new Promise<void>((resolve, reject) => {
          const check = () => (out.split("\n").includes(word) ? resolve() : undefined);
          child.stdout.on("data", (d: Buffer) => {
            out += d.toString();
            check();
          });
          child.once("exit", () =>
            out.split("\n").includes(word) ? resolve() : reject(new Error(`exited without ${word}: ${out}`)),
          );
          check();
        });
      const ready = said("ready");
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      return {
        child,
        ready,
        exited,
        outcome: () => out.split("\n").filter((l) => l && l !== "ready")[0] ?? "",
      };
    });
    await Promise.all(contenders.map((c) => c.ready));
    for (const c of contenders) c.child.stdin.write("go\n");
    // Every contender has an answer before the winner lets go.
    await Promise.all(
      contenders.map(
        (c) =>
          new Promise<void>((resolve) => {
            const poll = setInterval(() => {
              if (c.outcome() !== "") {
                clearInterval(poll);
                resolve();
              }
            }, 20);
          }),
      ),
    );
    for (const c of contenders) c.child.stdin.end("release\n");
    await Promise.all(contenders.map((c) => c.exited));
    const outcomes = contenders.map((c) => c.outcome());
    expect(outcomes.filter((o) => o === "won")).toHaveLength(1);
    expect(outcomes.filter((o) => o === "DataDirLockedError")).toHaveLength(4);
    expect(await readdir(dir)).toEqual([]);
  });
});
