import type { Migration } from "../../kit/db/index.js";
import { CONVERSATION_MIGRATIONS } from "../conversations/migrations.js";
import { IDENTITY_MIGRATIONS } from "../../identity/migrations.js";

/**
 * Every migration of the chat database, in order. Identity comes first because threads and
 * messages belong to users; append later migrations after these.
 */
export const CHAT_MIGRATIONS: readonly Migration[] = [...IDENTITY_MIGRATIONS, ...CONVERSATION_MIGRATIONS];
