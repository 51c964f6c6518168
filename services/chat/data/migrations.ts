import type { Migration } from "#kit/db/index.js";
import { CONVERSATION_MIGRATIONS } from "../conversations/migrations.js";

/** Every migration of the chat database (threads and messages), in order; append later ones. */
export const CHAT_MIGRATIONS: readonly Migration[] = CONVERSATION_MIGRATIONS;
