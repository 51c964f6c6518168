import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AuthService } from "#gen/supportext/auth/v1/auth_pb.js";
import { type HopProbes, hopProbes, type ProbeResult } from "#services/stack/testing/hop-probes.js";
import { startTestStack } from "#services/stack/testing/test-stack.js";
import { printRow, summarize } from "./stats.js";

const LOGOUTS = Number(process.env.BENCH_LOGOUTS ?? 50);
const HOPS = ["identity", "chat", "agent", "gateway", "mcp"] as const;

/**
 * How long after Logout each hop refuses the session — identity, chat, agent and gateway the user's
 * access token, the MCP server an MCP token exchanged before the logout (target p99 ≤ 1 s). Real
 * services on loopback (one process, embedded PGlite), the revocation feed over HTTP/2. Each hop is
 * probed as its legitimate caller calls it, every millisecond, from the moment Logout is sent (so
 * the figure includes the Logout call itself).
 */
export async function benchRevocation(): Promise<void> {
  const stack = await startTestStack({ LOG_LEVEL: "error" });
  const auth = createClient(
    AuthService,
    createConnectTransport({ baseUrl: stack.identity.url, httpVersion: "2" }),
  );
  const probes: HopProbes = hopProbes(stack);
  const delays: Record<(typeof HOPS)[number], number[]> = {
    identity: [],
    chat: [],
    agent: [],
    gateway: [],
    mcp: [],
  };
  try {
    for (let i = 0; i < LOGOUTS; i++) {
      const user = await stack.login("agent@company.com", stack.passwords.agent);
      const mcpToken = await probes.mcpToken(user.accessToken);
      const probe: Record<(typeof HOPS)[number], () => Promise<ProbeResult>> = {
        identity: () => probes.identity(user.accessToken),
        chat: () => probes.chat(user.accessToken),
        agent: () => probes.agent(user.accessToken),
        gateway: () => probes.gateway(user.accessToken),
        mcp: () => probes.mcp(mcpToken),
      };
      for (const hop of HOPS) {
        const before = await probe[hop]();
        if (before !== "accepted") throw new Error(`${hop} refused a live session: ${before}`);
      }
      const started = performance.now();
      const logout = auth.logout({ refreshToken: user.refreshToken });
      await Promise.all(
        HOPS.map(async (hop) => {
          for (;;) {
            const result = await probe[hop]();
            if (result === "revoked") break;
            if (result !== "accepted") throw new Error(`${hop}: ${result}`);
            if (performance.now() - started > 10_000)
              throw new Error(`${hop} still accepts 10 s after Logout`);
            await new Promise((r) => setTimeout(r, 1));
          }
          delays[hop].push(performance.now() - started);
        }),
      );
      await logout;
    }
  } finally {
    await stack.close();
  }
  console.log(`\n## Revocation delay per hop after Logout (target p99 ≤ 1 s), ${LOGOUTS} logouts`);
  for (const hop of HOPS)
    printRow(`${hop}${hop === "mcp" ? " (MCP token exchanged before)" : ""}`, summarize(delays[hop]));
}
