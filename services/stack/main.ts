import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import * as net from "node:net";
import { loadConfig } from "../kit/config/config.js";
import { createLogger } from "../kit/log/logger.js";
import { STACK } from "./services.js";

/**
 * `npm start`: runs every service of the stack as its own Node process on the embedded defaults
 * (PGlite under DATA_DIR, keys generated on first start, no external server, no API key), in
 * dependency order, each waited for until its port answers. SIGTERM/SIGINT stop them all
 * gracefully; if one dies, the others are stopped and the runner exits non-zero.
 */
const config = loadConfig();
const logger = createLogger({ service: "stack", level: config.LOG_LEVEL });
const children = new Map<string, ChildProcess>();
let stopping = false;

function waitForPort(host: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const socket = net.connect(port, host);
      socket.once("connect", () => {
        socket.destroy();
        resolve();
      });
      socket.once("error", () => {
        socket.destroy();
        if (Date.now() > deadline) reject(new Error(`port ${port} did not open within ${timeoutMs} ms`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

async function stopAll(code: number): Promise<never> {
  stopping = true;
  const exits = [...children.values()].reverse().map(
    (child) =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  );
  await Promise.all(exits);
  process.exit(code);
}

process.on("SIGTERM", () => void stopAll(0));
process.on("SIGINT", () => void stopAll(0));

/**
 * The services' client secrets: what the environment sets, else fresh random ones for this run, so
 * a running stack never accepts the development defaults published in the README (anyone on the
 * host could otherwise mint service tokens). Every process of the run gets the same values.
 */
const childEnv: NodeJS.ProcessEnv = { ...process.env };
for (const name of ["GATEWAY_CLIENT_SECRET", "AGENT_CLIENT_SECRET", "MCP_CLIENT_SECRET"] as const) {
  childEnv[name] ||= randomBytes(32).toString("base64url");
}

for (const svc of STACK) {
  if (!existsSync(svc.entry)) {
    logger.warn({ process: svc.name }, `${svc.entry} does not exist yet; not started`);
    continue;
  }
  const child = spawn(process.execPath, ["--import", "tsx", svc.entry], {
    // The IPC channel lets a service notice the runner's death (see stopOnSignals).
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    env: childEnv,
  });
  children.set(svc.name, child);
  child.once("exit", (code, signal) => {
    if (stopping) return;
    logger.error({ process: svc.name, code, signal }, "service exited; stopping the stack");
    void stopAll(1);
  });
  const host = config.HOST === "0.0.0.0" || config.HOST === "::" ? "127.0.0.1" : config.HOST;
  try {
    await waitForPort(host, svc.port(config), 60_000);
  } catch (err) {
    logger.error({ process: svc.name, err }, "service did not start");
    await stopAll(1);
  }
  logger.info({ process: svc.name, port: svc.port(config) }, "service ready");
}
logger.info({ processes: [...children.keys()] }, "stack ready");
