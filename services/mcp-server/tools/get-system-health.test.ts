import { afterEach, describe, expect, it, vi } from "vitest";
import type { Principal } from "#kit/auth/index.js";
import type { Database } from "#kit/db/index.js";
import type { ModelProvider } from "#kit/model/index.js";
import { captureLogs } from "#kit/testing/log-capture.js";
import { getSystemHealth } from "./get-system-health.js";
import type { ToolContext } from "./tool.js";

afterEach(() => {
  vi.useRealTimers();
});

const SECRET_DETAIL = 'connect ECONNREFUSED db.internal:5432 (schema "mcp_server", password=hunter2)';

function contextWith(ping: () => Promise<number>) {
  const logs = captureLogs("mcp-server");
  const db = {
    kind: "postgres",
    ping,
    query: async () => ({ rows: [{ v: "17.2" }], rowCount: 1 }),
  } as unknown as Database;
  const ctx = {
    principal: {} as Principal,
    db,
    mutate: () => Promise.reject(new Error("read-only")),
    model: { kind: "embedded", model: "test" } as ModelProvider,
    system: { startedAt: new Date(), versions: {}, activeSessions: () => 0 },
    logger: logs.logger,
  } satisfies ToolContext;
  return { ctx, logs };
}

type Health = { status: string; database: { reachable: boolean; error: string | null } };

describe("get_system_health when the database fails", () => {
  it("answers a short classified message and keeps the driver's text in the log", async () => {
    const { ctx, logs } = contextWith(() => Promise.reject(new Error(SECRET_DETAIL)));
    const out = await getSystemHealth.run({}, ctx);
    const data = out.data as Health;
    expect(data.status).toBe("degraded");
    expect(data.database).toMatchObject({
      reachable: false,
      error: "unreachable: the database could not be queried",
    });
    expect(JSON.stringify(out)).not.toContain("db.internal");
    const warn = logs.records().find((l) => l.msg === "get_system_health: database check failed");
    expect(warn).toMatchObject({ level: "warn" });
    expect(warn?.err).toMatchObject({ message: expect.stringContaining("ECONNREFUSED db.internal:5432") });
    expect(logs.lines.join("\n")).not.toContain("hunter2");
  });

  it("reports a database that does not answer in time as a timeout", async () => {
    vi.useFakeTimers();
    const { ctx } = contextWith(() => new Promise<number>(() => {}));
    const pending = getSystemHealth.run({}, ctx);
    await vi.advanceTimersByTimeAsync(2_000);
    const data = (await pending).data as Health;
    expect(data.database).toMatchObject({
      reachable: false,
      error: "timeout: the database did not answer within 2000 ms",
    });
  });
});
