import { loadConfig } from "#kit/config/index.js";
import { createLogger } from "#kit/log/index.js";
import { releaseHeapWhenIdle, startOrExit } from "#kit/process/index.js";
import { reportMemory, stopOnSignals } from "#kit/server/index.js";
import { startChat } from "./server.js";

const config = loadConfig({ secrets: ["CHAT_CLIENT_SECRET"] });
const logger = createLogger({ service: "chat", level: config.LOG_LEVEL });
const chat = await startOrExit("chat", logger, () => startChat(config, logger));
stopOnSignals(logger, () => chat.close());
reportMemory(logger, config.MEMORY_REPORT_INTERVAL);
releaseHeapWhenIdle(logger, { windowMs: config.IDLE_HEAP_RELEASE_WINDOW * 1000 });
