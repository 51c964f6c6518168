import { loadConfig } from "#kit/config/index.js";
import { createLogger } from "#kit/log/index.js";
import { releaseHeapWhenIdle, startOrExit } from "#kit/process/index.js";
import { reportMemory, stopOnSignals } from "#kit/server/index.js";
import { withSigningKeySecret } from "./keys/data-dir-secret.js";
import { startIdentityServer } from "./server.js";

const config = loadConfig({
  secrets: [
    "GATEWAY_CLIENT_SECRET",
    "AGENT_CLIENT_SECRET",
    "MCP_CLIENT_SECRET",
    "CHAT_CLIENT_SECRET",
    "SEED_ADMIN_PASSWORD",
    "SEED_AGENT_PASSWORD",
    "SEED_VIEWER_PASSWORD",
    "SIGNING_KEY_SECRET",
  ],
});
const logger = createLogger({ service: "identity", level: config.LOG_LEVEL });
// Outside production without SIGNING_KEY_SECRET, the data directory's own (keys/data-dir-secret.ts).
const identity = await startOrExit("identity", logger, () =>
  startIdentityServer(withSigningKeySecret(config), logger),
);
stopOnSignals(logger, () => identity.close());
reportMemory(logger, config.MEMORY_REPORT_INTERVAL);
releaseHeapWhenIdle(logger, { windowMs: config.IDLE_HEAP_RELEASE_WINDOW * 1000 });
