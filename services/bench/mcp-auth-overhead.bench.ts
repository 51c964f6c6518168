import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { ROLE_SCOPES } from "#kit/contract/index.js";
import { startTestIssuer, type TestIssuer } from "#kit/testing/test-issuer.js";
import { exchangedReaderClaims, startBenchIdentity } from "./bench-identity.js";
import { spawnMcpServer } from "./mcp-server-process.js";
import { printRow, type Summary, summarize } from "./stats.js";

const WARM_UP = 300;
const MIN_CALLS = 2000;

/** An initialized SDK client; `token()` gives the Authorization value of each HTTP request, if any. */
async function connect(mcpUrl: URL, token: (() => string) | undefined): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(mcpUrl, {
    fetch: (url, init) => {
      const headers = new Headers(init?.headers);
      if (token) headers.set("authorization", `Bearer ${token()}`);
      return fetch(url, { ...init, headers });
    },
  });
  const client = new Client({ name: "bench", version: "1.0.0" });
  await client.connect(transport);
  return client;
}

/** One way of calling the server: its row's label and its client. */
interface Arm {
  readonly label: string;
  readonly client: Client;
}

/**
 * Brief §11 on the MCP path: the same read-only tool call (`get_ticket` on a small ticket) through
 * the SDK's real Client + StreamableHTTPClientTransport to the real MCP server process, with a
 * bearer token (ES256 from the test issuer, JWKS fetched over HTTP) and without one under
 * AUTH_DEV_ANONYMOUS=1. One server process serves all arms: a present token takes exactly the path it
 * takes on a server without the fallback, so the arms differ only by authentication. Same session
 * per arm, same audit write per call, interleaved in rotating order after a warm-up.
 */
export async function benchMcpAuthOverhead(iterations: number): Promise<void> {
  const n = Math.max(MIN_CALLS, iterations);
  const issuer = await startTestIssuer({ audience: "support-ext-api" });
  const identity = await startBenchIdentity(issuer);
  const server = await spawnMcpServer({
    ...identity.env,
    AUTH_ISSUER: issuer.issuer,
    AUTH_JWKS_URL: issuer.jwksUrl.href,
    AUTH_DEV_ANONYMOUS: "1",
    LOG_LEVEL: "error",
  });
  const mcpUrl = new URL(server.resource);
  const clients: Client[] = [];
  try {
    const adminToken = await issuer.mint({
      sub: "u-bench-admin",
      email: "admin@company.com",
      roles: ["admin"],
      scope: ROLE_SCOPES.admin.join(" "),
      aud: server.resource,
    });
    const writer = await connect(mcpUrl, () => adminToken);
    clients.push(writer);
    const ticketId = await createBenchTicket(writer);
    const arms = await connectArms(issuer, server.resource, n + WARM_UP + 16);
    clients.push(...arms.map((a) => a.client));
    report(arms, await measureInterleaved(arms, ticketId, n));
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await server.stop();
    await identity.close();
    await issuer.close();
  }
}

async function createBenchTicket(writer: Client): Promise<number> {
  const created = (await writer.callTool({
    name: "create_ticket",
    arguments: { title: "Bench ticket", description: "small", priority: "low" },
  })) as CallToolResult;
  return (created.structuredContent as { ticket: { id: number } }).ticket.id;
}

/** The three arms: a reused token, no token (dev principal), a new token on each of `calls` calls. */
async function connectArms(issuer: TestIssuer, resource: string, calls: number): Promise<Arm[]> {
  const mcpUrl = new URL(resource);
  // The reader looks like a gateway-exchanged viewer token: the dev principal's scopes, plus `act`.
  const reader = exchangedReaderClaims(resource);
  const token = await issuer.mint(reader);
  // A new token on every request: the verified-token cache never hits, every call pays ES256.
  const fresh = await Promise.all(Array.from({ length: calls }, () => issuer.mint(reader)));
  let next = 0;
  return [
    { label: "MCP get_ticket, authenticated (token reused)", client: await connect(mcpUrl, () => token) },
    { label: "MCP get_ticket, AUTH_DEV_ANONYMOUS (no token)", client: await connect(mcpUrl, undefined) },
    {
      label: "MCP get_ticket, authenticated (new token each call)",
      client: await connect(mcpUrl, () => {
        const t = fresh[next++];
        if (t === undefined) throw new Error("bench ran out of fresh tokens");
        return t;
      }),
    },
  ];
}

/** `n` rounds after the warm-up, each arm once per round, rotating which goes first. */
async function measureInterleaved(arms: readonly Arm[], ticketId: number, n: number): Promise<number[][]> {
  const samples = arms.map(() => [] as number[]);
  for (let i = 0; i < WARM_UP + n; i++) {
    // Rotate which arm goes first, so none always runs right after another.
    for (let k = 0; k < arms.length; k++) {
      const a = (i + k) % arms.length;
      const ms = await timedGetTicket((arms[a] as Arm).client, ticketId);
      if (i >= WARM_UP) (samples[a] as number[]).push(ms);
    }
  }
  return samples;
}

/** One get_ticket's time in ms; a refused or failed call must not pass for a fast one. */
async function timedGetTicket(client: Client, ticketId: number): Promise<number> {
  const started = performance.now();
  const r = (await client.callTool({
    name: "get_ticket",
    arguments: { ticket_id: ticketId },
  })) as CallToolResult;
  const ms = performance.now() - started;
  const got = (r.structuredContent as { ticket?: { id?: number } } | undefined)?.ticket?.id;
  if (r.isError || got !== ticketId)
    throw new Error(`get_ticket failed in the bench: ${JSON.stringify(r.content)}`);
  return ms;
}

function report(arms: readonly Arm[], samples: number[][]): void {
  const [auth, anon, uncached] = samples.map((s) => summarize(s)) as [Summary, Summary, Summary];
  console.log(
    "\n## MCP auth overhead (docs/performance.md: p50 < 0.3 ms, p99 < 1 ms; real server process, SDK client, PGlite)",
  );
  for (const [i, a] of arms.entries()) printRow(a.label, summarize(samples[i] as number[]));
  const diff = (a: Summary, b: Summary) =>
    `p50 ${(a.p50 - b.p50).toFixed(3)} ms, p90 ${(a.p90 - b.p90).toFixed(3)} ms, p99 ${(a.p99 - b.p99).toFixed(3)} ms`;
  // Rounds are interleaved, so sample i of each arm ran back to back: the median of the per-round
  // differences is a steadier estimate of the shift than a difference of two noisy percentiles.
  const [sa, sb, sc] = samples as [number[], number[], number[]];
  const paired = (a: number[]) => summarize(a.map((x, i) => x - (sb[i] as number))).p50.toFixed(3);
  console.log(
    `MCP auth overhead per call, token reused: ${diff(auth, anon)} (difference of percentiles); paired median ${paired(sa)} ms`,
  );
  console.log(
    `MCP auth overhead per call, new token:    ${diff(uncached, anon)} (difference of percentiles); paired median ${paired(sc)} ms`,
  );
}
