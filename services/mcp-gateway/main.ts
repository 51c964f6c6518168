import { loadConfig } from "#kit/config/index.js";
import { createLogger } from "#kit/log/index.js";
import { releaseHeapWhenIdle, startOrExit } from "#kit/process/index.js";
import { reportMemory, stopOnSignals } from "#kit/server/index.js";
import { startGateway } from "./server.js";

const config = loadConfig({ secrets: ["GATEWAY_CLIENT_SECRET"] });
const logger = createLogger({ service: "mcp-gateway", level: config.LOG_LEVEL });
const gateway = await startOrExit("mcp-gateway", logger, () => startGateway(config, logger));
stopOnSignals(logger, () => gateway.close());
reportMemory(logger, config.MEMORY_REPORT_INTERVAL);
releaseHeapWhenIdle(logger, { windowMs: config.IDLE_HEAP_RELEASE_WINDOW * 1000 });
