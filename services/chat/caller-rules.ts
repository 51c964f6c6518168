import type { CallerRules } from "#kit/propagation/index.js";

/**
 * Who may call chat (docs/architecture.md, "Who may call what"): users, directly, for ChatService
 * (the edge: the default rule). No service calls chat.
 */
export const CHAT_CALLER_RULES: CallerRules = {};
