import type { Migration } from "../../kit/db/index.js";
import { IDENTITY_MIGRATIONS } from "../identity/migrations.js";

/**
 * Every migration of the chat database, in order. Identity comes first because the chat's own
 * tables (threads, messages: a later issue) belong to users; append their migrations after these.
 */
export const CHAT_MIGRATIONS: readonly Migration[] = [...IDENTITY_MIGRATIONS];
