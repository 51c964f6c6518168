import { loadConfig } from "#kit/config/index.js";
import { createLogger } from "#kit/log/index.js";
import { releaseHeapWhenIdle, startOrExit } from "#kit/process/index.js";
import { reportMemory, stopOnSignals } from "#kit/server/index.js";
import { startAgent } from "./server.js";

const config = loadConfig({ secrets: ["AGENT_CLIENT_SECRET"] });
const logger = createLogger({ service: "agent", level: config.LOG_LEVEL });
const agent = await startOrExit("agent", logger, () => startAgent(config, logger));
stopOnSignals(logger, () => agent.close());
reportMemory(logger, config.MEMORY_REPORT_INTERVAL);
releaseHeapWhenIdle(logger, { windowMs: config.IDLE_HEAP_RELEASE_WINDOW * 1000 });
