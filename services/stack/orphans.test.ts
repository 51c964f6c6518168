import { describe, expect, it } from "vitest";
import { portClosed, processAlive, type StackUnderTest, startStack } from "./stack-harness.js";

/**
 * No orphans (docs/architecture.md, "Processes"): when the runner dies by SIGKILL — while its
 * services are still starting, or after they are ready — every service it started exits and frees
 * its port. The figure (time from the kill until the last one is gone) is printed, not asserted.
 */

const SERVICES = ["identity", "chat", "agent", "mcp-gateway", "mcp-server"];

async function killRunnerAndWatch(stack: StackUnderTest): Promise<number> {
  const pids = stack.runnerLines("service started").map((l) => l.pid as number);
  expect(new Set(stack.runnerLines("service started").map((l) => l.process))).toEqual(new Set(SERVICES));
  const killedAt = Date.now();
  process.kill(stack.child.pid as number, "SIGKILL");
  const deadline = killedAt + 60_000;
  while (pids.some(processAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const goneMs = Date.now() - killedAt;
  expect(pids.filter(processAlive)).toEqual([]);
  for (const port of Object.values(stack.ports)) expect(await portClosed(port)).toBe(true);
  return goneMs;
}

const runner = () => startStack(process.execPath, ["--import", "tsx", "services/stack/main.ts"]);

describe("the runner killed -9", () => {
  it("while its services are starting: every one of them exits and frees its port", async () => {
    const stack = await runner();
    // Identity answered, the other four were spawned and are still starting.
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
