import * as net from "node:net";
import { describe, expect, it } from "vitest";
import { NPM_START, type StackUnderTest, startStack } from "./testing/stack-harness.js";

/**
 * A start-up failure that no restart can fix stops `npm start`'s runner with one line naming the
 * cause and the fix, and a non-zero exit — instead of restarting the service with backoff forever
 * (docs/architecture.md, "Processes"). Each case starts the real runner on free ports.
 */

const runner = (env: Record<string, string> = {}) => startStack(process.execPath, NPM_START, { env });

function exitOf(stack: StackUnderTest): Promise<number | null> {
  if (stack.child.exitCode !== null) return Promise.resolve(stack.child.exitCode);
  return new Promise((resolve) => stack.child.once("exit", (code) => resolve(code)));
}

/** The one fatal line the failing service printed (JSON log lines). */
function fatalLines(stack: StackUnderTest): Record<string, unknown>[] {
  return stack
    .output()
    .split("\n")
    .filter((l) => l.startsWith("{") && l.includes('"level":"fatal"'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe("start-up failures a restart cannot fix", () => {
  it("a port in use: the service says which port and what to do; the stack stops, exit 1, no restart", async () => {
    const squatter = net.createServer();
    await new Promise<void>((r) => squatter.listen(0, "127.0.0.1", r));
    const port = (squatter.address() as net.AddressInfo).port;
    try {
      const stack = await runner({ IDENTITY_PORT: String(port) });
      expect(await exitOf(stack)).toBe(1);
      const fatal = fatalLines(stack);
      expect(fatal.map((l) => [l.service, l.cause])).toEqual([["identity", "EADDRINUSE"]]);
      expect(fatal[0]?.msg).toBe(
        `identity cannot start: port ${port} is already in use (another stack or program listens there). Stop what holds it, or set another port for identity (its *_PORT setting).`,
      );
      expect(stack.runnerLines("service did not start; stopping the stack")).toHaveLength(1);
      expect(stack.runnerLines("restarting service")).toEqual([]);
      expect(stack.output()).not.toMatch(/\n\s+at /); // no stack trace anywhere
    } finally {
      squatter.close();
    }
  }, 120_000);

  it("a second stack on a data directory in use: 'in use by a running stack, pid N'", async () => {
    const first = await runner();
    try {
      await first.waitFor((o) => o.includes('"msg":"stack ready"'), 180_000);
      const second = await runner({ DATA_DIR: first.dataDir });
      expect(await exitOf(second)).toBe(1);
      const fatal = fatalLines(second);
      expect(fatal.length).toBeGreaterThan(0);
      for (const line of fatal) {
        expect(line.msg).toMatch(
          /cannot start: its data directory is in use by a running stack, pid \d+ \(.+\.lock\)\. Stop that stack first, or give this one another DATA_DIR\.$/,
        );
      }
      expect(second.runnerLines("restarting service")).toEqual([]);
      // The first stack was not disturbed.
      expect(first.child.exitCode).toBeNull();
    } finally {
      const exited = exitOf(first);
      first.child.kill("SIGTERM");
      await exited;
    }
  }, 300_000);

  it("a database that cannot be reached: the service names the server and DATABASE_URL; the stack stops", async () => {
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const stack = await runner({ DATABASE_URL: `postgres://nobody:pw@127.0.0.1:${port}/nothing` });
    expect(await exitOf(stack)).toBe(1);
    const fatal = fatalLines(stack);
    expect(fatal.map((l) => l.service)).toEqual(["identity"]);
    expect(fatal[0]?.msg).toMatch(
      new RegExp(
        `^identity cannot start: cannot connect to PostgreSQL at .*127\\.0\\.0\\.1:${port}.*Check DATABASE_URL`,
      ),
    );
    expect(stack.output()).not.toContain(":pw@");
    expect(stack.runnerLines("restarting service")).toEqual([]);
  }, 120_000);
});
