import { OAuthError } from "../http/oauth-response.js";
import { type AgentDirectory, AgentDirectoryUnavailable, type RegisteredAgent } from "./agent-directory.js";

/**
 * A lookup on behalf of a token request: a registry that can't be asked is answered 503
 * temporarily_unavailable (retry), never taken for "not registered" (that would tell a client its
 * agent is gone) nor for "registered".
 */
export async function lookupAgent(
  agents: AgentDirectory,
  agentId: string,
): Promise<RegisteredAgent | undefined> {
  try {
    return await agents.lookup(agentId);
  } catch (err) {
    if (!(err instanceof AgentDirectoryUnavailable)) throw err;
    throw new OAuthError(503, "temporarily_unavailable", "the agent registry is unavailable; retry shortly", {
      "retry-after": "1",
    });
  }
}
