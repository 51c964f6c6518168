/**
 * Metadata key with which the agent service names the agent it runs a turn for. The gateway reads
 * it to narrow the caller's tools to that agent's allow-list; it can only narrow, never widen
 * (the token exchange intersects with the user's own scopes), so a forged value gains nothing.
 */
export const AGENT_ID_HEADER = "x-agent-id";
