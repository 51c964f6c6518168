import { loadConfig } from "../kit/config/config.js";
import { createLogger } from "../kit/log/logger.js";
import { reportMemory } from "../kit/server/memory-report.js";
import { stopOnSignals } from "../kit/server/shutdown.js";
import { startOrExit } from "../kit/server/start-failure.js";
import { startAgent } from "./server.js";

const config = loadConfig({ secrets: ["AGENT_CLIENT_SECRET"] });
const logger = createLogger({ service: "agent", level: config.LOG_LEVEL });
const agent = await startOrExit("agent", logger, () => startAgent(config, logger));
stopOnSignals(logger, () => agent.close());
reportMemory(logger, config.MEMORY_REPORT_INTERVAL);
