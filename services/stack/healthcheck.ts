import { readFileSync } from "node:fs";
import { type Config, parseConfig } from "#kit/config/index.js";
import { programNamed } from "./programs.js";
import { STACK } from "./services.js";

/**
 * The container image's HEALTHCHECK (docs/development.md, "Production build"):
 * `node services/stack/healthcheck.js` asks `/healthz` of the service the container runs — all five
 * for `stack` — on its port as the service reads it (`<NAME>_PORT`, `HOST`), and exits 0 when each
 * answers 200, 1 otherwise. Which service: its argument, else the program named on the container's
 * command line (`/proc/1/cmdline`, the entry point `services/stack/run.js <program>`, also behind an init).
 */
const TIMEOUT_MS = 4_000;

function runningProgram(): string | undefined {
  let args: string[];
  try {
    args = readFileSync("/proc/1/cmdline", "utf8").split("\0").filter(Boolean);
  } catch {
    return undefined;
  }
  for (const arg of args.slice(1)) {
    const name = programNamed(arg);
    if (name !== undefined) return name;
  }
  // The entry point without an argument runs the stack.
  return args.some((a) => a.endsWith("services/stack/run.js")) ? "stack" : undefined;
}

async function answers(url: string): Promise<string | undefined> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
    return res.status === 200 ? undefined : `${url}: ${res.status}`;
  } catch (err) {
    // fetch's TypeError says "fetch failed"; its cause says why (ECONNREFUSED, a timeout, …).
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
    return `${url}: ${cause instanceof Error ? cause.message : String(cause)}`;
  }
}

const program = process.argv[2] === undefined ? runningProgram() : programNamed(process.argv[2]);
if (program === undefined) {
  process.stderr.write(`healthcheck: no program named (${process.argv[2] ?? "/proc/1/cmdline"})\n`);
  process.exit(1);
}
const services = STACK.filter((s) => program === "stack" || s.name === program);
// A command-line tool's container has nothing to ask.
if (services.length === 0) process.exit(0);

let config: Config;
try {
  config = parseConfig(process.env);
} catch (err) {
  process.stderr.write(`healthcheck: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
}
const host =
  config.HOST === "0.0.0.0" || config.HOST === "::"
    ? "127.0.0.1"
    : config.HOST.includes(":")
      ? `[${config.HOST}]`
      : config.HOST;
const failures = (
  await Promise.all(services.map((s) => answers(`http://${host}:${s.port(config)}/healthz`)))
).filter((f) => f !== undefined);
if (failures.length > 0) {
  process.stderr.write(`healthcheck: ${failures.join("; ")}\n`);
  process.exit(1);
}
