import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  NPM_START,
  portClosed,
  processAlive,
  type StackUnderTest,
  startStack,
} from "./testing/stack-harness.js";

/**
 * No orphans (docs/architecture.md, "Processes"): when the runner dies by SIGKILL — while its
 * services are still starting, or after they are ready — every service it started exits and frees
 * its port, and the embedded PostgreSQL server (the runner's own child) goes with it. The figure (time from the kill
 * until the last one is gone) is printed, not asserted.
 */

const SERVICES = ["postgres", "identity", "chat", "agent", "mcp-gateway", "mcp-server"];

/** The embedded PostgreSQL server's pid, while it runs. */
function postgresServerPid(dataDir: string): number[] {
  const file = join(dataDir, "postgres", "postmaster.pid");
  if (!existsSync(file)) return [];
  const pid = Number.parseInt(readFileSync(file, "utf8").split("\n")[0] ?? "", 10);
  return Number.isInteger(pid) && pid > 0 ? [pid] : [];
}

async function killRunnerAndWatch(stack: StackUnderTest): Promise<number> {
  const pids = [
    ...stack.runnerLines("service started").map((l) => l.pid as number),
    ...postgresServerPid(stack.dataDir),
  ];
  const started = new Set(stack.runnerLines("service started").map((l) => l.process));
  const killedAt = Date.now();
  process.kill(stack.child.pid as number, "SIGKILL");
  // Checked after the kill: a failed expectation before it would leave the whole stack running.
  expect(started).toEqual(new Set(SERVICES));
  const deadline = killedAt + 60_000;
  while (pids.some(processAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const goneMs = Date.now() - killedAt;
  expect(pids.filter(processAlive)).toEqual([]);
  for (const port of Object.values(stack.ports)) expect(await portClosed(port)).toBe(true);
  return goneMs;
}

const runner = () => startStack(process.execPath, NPM_START);

describe("the runner killed -9", () => {
  it("while its services are starting: every one of them exits and frees its port", async () => {
    const stack = await runner();
    // PostgreSQL and identity answered, the other four were spawned and are still starting.
    await stack.waitFor(
      () =>
        stack.runnerLines("service started").length === SERVICES.length &&
        stack.runnerLines("stack ready").length === 0,
      180_000,
    );
    const ms = await killRunnerAndWatch(stack);
    console.log(`runner SIGKILLed during start-up: all ${SERVICES.length} services gone ${ms} ms later`);
  }, 300_000);

  it("after the stack is ready: every service exits and frees its port", async () => {
    const stack = await runner();
    await stack.waitFor((o) => o.includes('"msg":"stack ready"'), 180_000);
    const ms = await killRunnerAndWatch(stack);
    console.log(`runner SIGKILLed when ready: all ${SERVICES.length} services gone ${ms} ms later`);
  }, 300_000);
});
