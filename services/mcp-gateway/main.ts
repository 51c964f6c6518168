import { loadConfig } from "../kit/config/config.js";
import { createLogger } from "../kit/log/logger.js";
import { reportMemory } from "../kit/server/memory-report.js";
import { stopOnSignals } from "../kit/server/shutdown.js";
import { startOrExit } from "../kit/server/start-failure.js";
import { startGateway } from "./server.js";

const config = loadConfig({ secrets: ["GATEWAY_CLIENT_SECRET"] });
const logger = createLogger({ service: "mcp-gateway", level: config.LOG_LEVEL });
const gateway = await startOrExit("mcp-gateway", logger, () => startGateway(config, logger));
stopOnSignals(logger, () => gateway.close());
reportMemory(logger, config.MEMORY_REPORT_INTERVAL);
