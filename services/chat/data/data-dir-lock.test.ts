import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { acquireDataDirLock, DataDirLockedError } from "./data-dir-lock.js";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "chat-lock-"));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe("data-dir lock (one process per embedded database)", () => {
  it("is exclusive until released, and records our pid", async () => {
    const lock = await acquireDataDirLock(dir, "chat");
    expect((await readFile(join(dir, "chat.lock"), "utf8")).trim()).toBe(String(process.pid));
    await expect(acquireDataDirLock(dir, "chat")).rejects.toBeInstanceOf(DataDirLockedError);
    await lock.release();
    expect(existsSync(join(dir, "chat.lock"))).toBe(false);
    await (await acquireDataDirLock(dir, "chat")).release();
  });

  it("refuses while another live process holds it", async () => {
    // Our parent (the test runner) is alive and is not us.
    await writeFile(join(dir, "chat.lock"), `${process.ppid}\n`);
    await expect(acquireDataDirLock(dir, "chat")).rejects.toThrow(/held by running process/);
  });

  it("takes over a lock left by a process that is gone, or by an earlier incarnation with our pid", async () => {
    const gone = spawnSync(process.execPath, [
      "-e",
      "process.stdout.write(String(process.pid))",
    ]).stdout.toString();
    await writeFile(join(dir, "chat.lock"), `${gone}\n`);
    await (await acquireDataDirLock(dir, "chat")).release();

    await writeFile(join(dir, "chat.lock"), `${process.pid}\n`);
    const lock = await acquireDataDirLock(dir, "chat");
    await lock.release();
  });
});
