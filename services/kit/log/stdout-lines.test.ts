import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { childEnv } from "../testing/child-env.js";

/**
 * The logger's own stdout (`logger.ts` `stdoutLines`): lines gathered into one write, yet a lone
 * line of a quiet process still arrives without the process ending, and every line written before
 * an exit — a crash's included — is there after it. A real child process, its stdout a pipe as
 * under `npm start` or a container runtime.
 */
function runChild(script: string): {
  lines: () => string[];
  stderr: () => string;
  exited: Promise<number | null>;
  kill(): void;
} {
  const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    env: { ...childEnv(), LOG_FORMAT: "json" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    out += chunk;
  });
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  return {
    lines: () => out.split("\n").filter(Boolean),
    stderr: () => err,
    exited,
    kill: () => child.kill("SIGKILL"),
  };
}

const LOGGER = `import { createLogger } from "./services/kit/log/logger.ts";
const logger = createLogger({ service: "stdout-lines" });`;

/** The logger, with sonic-boom's writes to stdout (fs.write, looked up at each call) counted. */
const COUNTING_WRITES = `import fs from "node:fs";
  let writes = 0;
  const write = fs.write;
  fs.write = function (fd, ...rest) {
    if (fd === 1) writes += 1;
    return write.call(this, fd, ...rest);
  };
  ${LOGGER}`;
/** A second later, the count on stderr, and exit. */
const REPORT_WRITES_AFTER_1_S = `setTimeout(() => {
    process.stderr.write(JSON.stringify({ writes }));
    process.exit(0);
  }, 1_000);`;

describe("the logger's stdout", () => {
  it("a lone line of a process that then stays quiet reaches stdout without the process ending", async () => {
    const child = runChild(`${LOGGER}
      logger.info("one line, then nothing");
      setInterval(() => undefined, 60_000);`);
    try {
      // Conditions awaited, never timed: generous for a busy 2-core machine.
      await expect
        .poll(() => child.lines().map((l) => JSON.parse(l).msg), { timeout: 20_000 })
        .toEqual(["one line, then nothing"]);
    } finally {
      child.kill();
    }
  }, 30_000);

  it("a quiet process makes no write: one line is one write, nothing on a clock after it", async () => {
    const child = runChild(`${COUNTING_WRITES}
      logger.info("one line");
      ${REPORT_WRITES_AFTER_1_S}`);
    expect(await child.exited).toBe(0);
    expect(child.lines().map((l) => JSON.parse(l).msg)).toEqual(["one line"]);
    expect(JSON.parse(child.stderr())).toEqual({ writes: 1 });

    // A fatal line is written at once, synchronously (pino's flushSync), and leaves nothing waiting.
    const fatal = runChild(`${COUNTING_WRITES}
      logger.fatal("cannot go on");
      ${REPORT_WRITES_AFTER_1_S}`);
    expect(await fatal.exited).toBe(0);
    expect(fatal.lines().map((l) => JSON.parse(l).msg)).toEqual(["cannot go on"]);
    expect(JSON.parse(fatal.stderr())).toEqual({ writes: 0 });
  }, 30_000);

  it("every line written before an exit is there after it: a burst, then process.exit, then a crash", async () => {
    const burst = runChild(`${LOGGER}
      for (let i = 0; i < 500; i++) logger.info({ i }, "burst");
      process.exit(3);`);
    expect(await burst.exited).toBe(3);
    expect(burst.lines().map((l) => JSON.parse(l).i)).toEqual([...Array(500).keys()]);

    const crash = runChild(`${LOGGER}
      logger.info("before the crash");
      setImmediate(() => { throw new Error("boom"); });`);
    expect(await crash.exited).not.toBe(0);
    expect(crash.lines().map((l) => JSON.parse(l).msg)).toEqual(["before the crash"]);
  }, 30_000);
});
