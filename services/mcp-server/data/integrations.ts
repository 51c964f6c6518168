import type { Queryable } from "#kit/db/index.js";

export interface Integration {
  id: string;
  name: string;
  kind: string;
  description: string;
  enabled: boolean;
  health: "healthy" | "degraded" | "down" | "unknown";
  health_detail: string;
  last_checked_at: string | null;
  settings: Record<string, unknown>;
}

interface IntegrationRow extends Record<string, unknown> {
  id: string;
  name: string;
  kind: string;
  description: string;
  enabled: boolean;
  health: Integration["health"];
  health_detail: string;
  last_checked_at: Date | null;
  settings: Record<string, unknown>;
}

export async function listIntegrations(q: Queryable, filter: { enabled?: boolean }): Promise<Integration[]> {
  const { rows } = await q.query<IntegrationRow>(
    `SELECT id, name, kind, description, enabled, health, health_detail, last_checked_at, settings
     FROM integrations WHERE ($1::boolean IS NULL OR enabled = $1) ORDER BY name`,
    [filter.enabled ?? null],
  );
  return rows.map((r) => ({
    ...r,
    last_checked_at: r.last_checked_at ? r.last_checked_at.toISOString() : null,
  }));
}
