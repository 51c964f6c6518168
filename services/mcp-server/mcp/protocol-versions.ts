import { SUPPORTED_PROTOCOL_VERSIONS } from "@modelcontextprotocol/server";

/** The stateless revision: no `initialize`, no sessions, `server/discover` (docs/mcp-server.md, "Revisions"). */
export const MODERN_PROTOCOL_VERSION = "2026-07-28";

/**
 * Every revision one `/mcp` endpoint serves, newest first: 2026-07-28 (negotiated by
 * `server/discover`) and the 2025 family the SDK implements (negotiated by `initialize`).
 */
export const PROTOCOL_VERSIONS: readonly string[] = [MODERN_PROTOCOL_VERSION, ...SUPPORTED_PROTOCOL_VERSIONS];
