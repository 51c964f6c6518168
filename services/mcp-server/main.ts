import { loadConfig } from "#kit/config/index.js";
import { createLogger } from "#kit/log/index.js";
import { releaseHeapWhenIdle, startOrExit } from "#kit/process/index.js";
import { reportMemory, stopOnSignals } from "#kit/server/index.js";
import { startMcpServer } from "./server.js";

/** The MCP server process: `tsx services/mcp-server/main.ts` (started by `npm start` with the stack). */
const config = loadConfig({ secrets: ["MCP_CLIENT_SECRET"] });
const logger = createLogger({ service: "mcp-server", level: config.LOG_LEVEL });
try {
  const server = await startOrExit("mcp-server", logger, () => startMcpServer(config, logger));
  stopOnSignals(logger, () => server.close());
  reportMemory(logger, config.MEMORY_REPORT_INTERVAL);
  releaseHeapWhenIdle(logger, { windowMs: config.IDLE_HEAP_RELEASE_WINDOW * 1000 });
} catch (err) {
  logger.fatal({ err }, "MCP server could not start");
  process.exit(1);
}
