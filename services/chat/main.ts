import { loadConfig } from "../kit/config/config.js";
import { createLogger } from "../kit/log/logger.js";
import { reportMemory } from "../kit/server/memory-report.js";
import { stopOnSignals } from "../kit/server/shutdown.js";
import { startOrExit } from "../kit/server/start-failure.js";
import { startChat } from "./server.js";

const config = loadConfig({ secrets: ["CHAT_CLIENT_SECRET"] });
const logger = createLogger({ service: "chat", level: config.LOG_LEVEL });
const chat = await startOrExit("chat", logger, () => startChat(config, logger));
stopOnSignals(logger, () => chat.close());
reportMemory(logger, config.MEMORY_REPORT_INTERVAL);
