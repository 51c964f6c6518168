import { z } from "zod";
import { defineTool } from "./tool.js";

const PING_TIMEOUT_MS = 2_000;
/** A database slower than this answers, but the service is not healthy. */
const SLOW_PING_MS = 500;

export const getSystemHealth = defineTool({
  name: "get_system_health",
  title: "System health",
  description:
    "Live health of this service: database round trip, uptime, memory, versions, open MCP sessions, model provider.",
  input: z.strictObject({}),
  output: z.object({
    status: z.enum(["ok", "degraded"]),
    checked_at: z.string(),
    database: z.object({
      kind: z.enum(["pglite", "postgres"]),
      reachable: z.boolean(),
      ping_ms: z.number().nullable(),
      server_version: z.string().nullable(),
      error: z.string().nullable(),
    }),
    uptime_seconds: z.number(),
    started_at: z.string(),
    memory: z.object({
      rss_bytes: z.number(),
      heap_used_bytes: z.number(),
      heap_total_bytes: z.number(),
      external_bytes: z.number(),
    }),
    versions: z.record(z.string(), z.string()),
    sessions: z.object({ active: z.number().int() }),
    model: z.object({ kind: z.string(), model: z.string() }),
  }),
  annotations: { readOnlyHint: true, openWorldHint: false },
  async run(_args, ctx) {
    let database: {
      reachable: boolean;
      ping_ms: number | null;
      server_version: string | null;
      error: string | null;
    };
    try {
      const { ping, version } = await withTimeout(
        (async () => {
          const ping = await ctx.db.ping();
          const { rows } = await ctx.db.query<{ v: string }>("SELECT current_setting('server_version') AS v");
          return { ping, version: rows[0]?.v ?? null };
        })(),
        PING_TIMEOUT_MS,
      );
      database = {
        reachable: true,
        ping_ms: Math.round(ping * 1000) / 1000,
        server_version: version,
        error: null,
      };
    } catch (err) {
      // Callers get a class of failure; the driver's text (host names, schema, SQL) stays in the log.
      const timedOut = err instanceof PingTimeout;
      ctx.logger.warn({ err }, "get_system_health: database check failed");
      database = {
        reachable: false,
        ping_ms: null,
        server_version: null,
        error: timedOut
          ? `timeout: the database did not answer within ${PING_TIMEOUT_MS} ms`
          : "unreachable: the database could not be queried",
      };
    }
    const mem = process.memoryUsage();
    const degraded = !database.reachable || (database.ping_ms ?? 0) > SLOW_PING_MS;
    const uptime = Math.round((Date.now() - ctx.system.startedAt.getTime()) / 100) / 10;
    return {
      summary: `Status ${degraded ? "degraded" : "ok"}: database ${database.reachable ? `${database.ping_ms} ms` : "unreachable"}, up ${uptime} s, RSS ${Math.round(mem.rss / 1048576)} MiB.`,
      data: {
        status: degraded ? ("degraded" as const) : ("ok" as const),
        checked_at: new Date().toISOString(),
        database: { kind: ctx.db.kind, ...database },
        uptime_seconds: uptime,
        started_at: ctx.system.startedAt.toISOString(),
        memory: {
          rss_bytes: mem.rss,
          heap_used_bytes: mem.heapUsed,
          heap_total_bytes: mem.heapTotal,
          external_bytes: mem.external,
        },
        versions: { ...ctx.system.versions },
        sessions: { active: ctx.system.activeSessions() },
        model: { kind: ctx.model.kind, model: ctx.model.model },
      },
    };
  },
});

class PingTimeout extends Error {
  override readonly name = "PingTimeout";
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new PingTimeout(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
