import type { Principal } from "#kit/auth/index.js";
import { captureLogs } from "#kit/testing/log-capture.js";
import { McpSession } from "../session/mcp-session.js";
import { ServerEra, type VersionPolicy, versionPolicy } from "../session/server-era.js";
import type { McpTokenSource, TokenSubject } from "../token/mcp-token-source.js";

/** A principal of `userId`'s own login session, for the agent "agent", with no tool scopes. */
export function testSubject(userId: string): TokenSubject {
  const principal = { userId, sessionId: `login-${userId}`, scopes: [] } as unknown as Principal;
  return { principal, credential: undefined, agentId: "agent", actorToken: undefined, scopes: [] };
}

/** The gateway's MCP session for `userId` against the MCP server at `url`, as the pool makes it. */
export function testSession(
  userId: string,
  url: URL,
  tokens: McpTokenSource,
  options: { policy?: VersionPolicy; era?: ServerEra } = {},
): McpSession {
  return new McpSession(`login-${userId}|${userId}|agent`, testSubject(userId), {
    url,
    tokenSource: tokens,
    logger: captureLogs("mcp-gateway").logger,
    connectTimeoutMs: 5_000,
    httpVersion: "auto",
    callTimeoutMs: 5_000,
    clientVersion: "test",
    policy: options.policy ?? versionPolicy("auto"),
    era: options.era ?? new ServerEra(),
  });
}
