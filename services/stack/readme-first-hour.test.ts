import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { childEnv } from "#kit/testing/child-env.js";
import { freePort } from "#kit/testing/free-port.js";
import { blockToRun, concatenatedJson, shellBlocks } from "./doc-blocks.js";
import { processAlive, removeDataDir, type StackUnderTest, startStack } from "./testing/stack-harness.js";

/**
 * The README's first hour, run as written: the stack started by `npm start` with the
 * README's slow-machine setting, `npm run login` as a child process (and its one-line failures),
 * then the README's own `buf curl` commands, taken from README.md by their `run-by-test` marker,
 * with only the ports changed to this stack's free ones. The first message must get the seeded
 * tickets. Every other shell block of README.md and of the documents it links must name the
 * test that covers it, so no command there drifts unnoticed.
 */
const run = promisify(execFile);
const root = fileURLToPath(new URL("../../", import.meta.url));
const README = `${root}README.md`;
const DOCS_WITH_TESTED_COMMANDS = [README, `${root}docs/development.md`, `${root}docs/adding-a-tool.md`];
/** The blocks this file runs; the drift check below insists each is marked exactly once. */
const RUN_HERE = ["first-message", "slow-start", "quick-subset", "by-hand", "create-user", "tool-tests"];
const DEFAULT_PORTS = { chat: 8080, agent: 8081, gateway: 8082, mcp: 8083, identity: 8084 } as const;
const READY_MS = 240_000;

let stack: StackUnderTest;
let token = "";

/** `text` with the default ports of the README replaced by this stack's. */
function onThisStack(text: string): string {
  let out = text;
  for (const [name, port] of Object.entries(DEFAULT_PORTS)) {
    out = out.replaceAll(`127.0.0.1:${port}`, `127.0.0.1:${stack.ports[name as keyof typeof DEFAULT_PORTS]}`);
  }
  return out;
}

/** A documented block in bash from the repository root, as a reader pastes it into their shell. */
function bash(script: string, env: Record<string, string> = {}) {
  return run("bash", ["-euo", "pipefail", "-c", onThisStack(script)], {
    cwd: root,
    env: childEnv({ IDENTITY_PORT: String(stack.ports.identity), ...env }),
    timeout: 180_000,
    maxBuffer: 16 * 1024 * 1024,
  });
}

/** `npm run -s login -- …` as a child process; resolves with its exit code and output, never throws. */
async function login(args: readonly string[], env: Record<string, string> = {}) {
  return run("npm", ["run", "-s", "login", "--", ...args], {
    cwd: root,
    env: childEnv({ IDENTITY_PORT: String(stack.ports.identity), ...env }),
    timeout: 120_000,
  }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({
      code: e.code ?? -1,
      stdout: e.stdout ?? "",
      stderr: e.stderr ?? "",
    }),
  );
}

beforeAll(async () => {
  // README, "Troubleshooting": the slow-machine line is `NAME=value npm start`; started as written.
  const slowStart = /^([A-Z_]+)=(\S+) npm start$/.exec(blockToRun(README, "slow-start").trim());
  if (!slowStart?.[1] || !slowStart[2])
    throw new Error("README's slow-start block is not `NAME=value npm start`");
  const npmCli = process.env.npm_execpath;
  const [command, args] =
    npmCli && /npm-cli\.js$/.test(npmCli) ? [process.execPath, [npmCli, "start"]] : ["npm", ["start"]];
  stack = await startStack(command, args, {
    // The development default the README prints, not the harness's random one.
    env: { SEED_ADMIN_PASSWORD: "admin-dev-password", [slowStart[1]]: slowStart[2] },
  });
  await stack.waitFor((o) => o.includes('"msg":"stack ready"'), READY_MS);
}, READY_MS + 10_000);

afterAll(async () => {
  const pids = stack?.runnerLines("service ready").map((l) => l.pid as number) ?? [];
  await Promise.race([stack?.stop(), new Promise((r) => setTimeout(r, 30_000))]);
  for (const pid of pids) if (processAlive(pid)) process.kill(pid, "SIGKILL");
  if (stack && stack.child.exitCode === null) stack.child.kill("SIGKILL");
  if (stack) await removeDataDir(stack.dataDir);
}, 40_000);

describe("README: send your first message", () => {
  it("npm run login prints the export line for the seeded admin, with the development default password", async () => {
    const res = await login([]);
    expect(res.stderr).toContain("logged in as admin@company.com (admin)");
    expect(res.code).toBe(0);
    const line = /^export TOKEN=([\w-]+\.[\w-]+\.[\w-]+)$/m.exec(res.stdout);
    expect(line, res.stdout).not.toBeNull();
    expect(res.stdout.trim().split("\n")).toHaveLength(1);
    token = line?.[1] ?? "";
  }, 130_000);

  it("npm run login fails in one line naming the cause and the fix", async () => {
    const wrong = await login(["--password", "not-the-password"]);
    expect(wrong.code).toBe(1);
    expect(wrong.stdout).toBe("");
    expect(wrong.stderr.trim()).toBe(
      "login: wrong email or password for admin@company.com — pass --password (or LOGIN_PASSWORD); npm start prints the seeded logins",
    );

    // Nothing listens on a port just freed: as when the stack is not running.
    const closed = await freePort();
    const down = await login([], { IDENTITY_PORT: String(closed) });
    expect(down.code).toBe(1);
    expect(down.stderr.trim()).toBe(
      `login: nothing answers at http://127.0.0.1:${closed} — start it with npm start`,
    );

    const flag = await login(["--pasword", "x"]);
    expect(flag.code).toBe(2);
    expect(flag.stderr.trim().split("\n")).toHaveLength(1);
    for (const r of [wrong, down, flag]) expect(r.stderr).not.toMatch(/\n\s+at /);
  }, 130_000);

  it("the README's commands, as written: log in, list agents, create a thread, and the first message lists the seeded open tickets", async () => {
    const { stdout } = await bash(blockToRun(README, "first-message"));
    const objects = concatenatedJson(stdout);
    const agents = objects.find((o) => "agents" in o)?.agents as { id: string }[] | undefined;
    expect(agents?.map((a) => a.id)).toEqual(expect.arrayContaining(["support-assistant", "ticket-reader"]));
    const calls = objects.flatMap((o) => {
      const started = (o.runEvent as { toolCallStarted?: { toolCall: { name: string } } } | undefined)
        ?.toolCallStarted;
      return started ? [started.toolCall.name] : [];
    });
    expect(calls).toEqual(["list_tickets"]);
    const answer = objects.find((o) => "assistantMessage" in o)?.assistantMessage as
      | { content: string; status: string }
      | undefined;
    expect(answer?.status).toBe("MESSAGE_STATUS_COMPLETE");
    // README: "5 ticket(s) match; … - #1 Cannot log in after password reset (open, high)".
    expect(answer?.content).toMatch(/^5 ticket\(s\) match; showing 5 from offset 0\./);
    expect(answer?.content).toContain("- #1 Cannot log in after password reset (open, high)");
  }, 200_000);

  it("docs/development.md's calls by hand: services, health, WhoAmI, CreateUser", async () => {
    expect(token).not.toBe("");
    const byHand = await bash(blockToRun(`${root}docs/development.md`, "by-hand"), { TOKEN: token });
    expect(byHand.stdout).toContain("supportext.auth.v1.AuthService");
    expect(byHand.stdout).toContain('"status": "SERVING"');
    expect(byHand.stdout).toContain('"email": "admin@company.com"');
    const created = await bash(blockToRun(`${root}docs/development.md`, "create-user"), { TOKEN: token });
    expect(created.stdout).toContain('"email": "new@company.com"');
  }, 200_000);

  it("the quick subset of the test suite the README suggests runs and passes", async () => {
    // bash -e: vitest's exit code already says whether they passed; NO_COLOR keeps its summary plain.
    const { stdout } = await bash(blockToRun(README, "quick-subset"), { NO_COLOR: "1" });
    expect(stdout).toMatch(/Test Files\s+\S*2 passed/);
  }, 200_000);

  it("docs/adding-a-tool.md's tests of the scope table and the allow-lists run and pass", async () => {
    const { stdout } = await bash(blockToRun(`${root}docs/adding-a-tool.md`, "tool-tests"), {
      NO_COLOR: "1",
    });
    expect(stdout).toMatch(/Test Files\s+\S*\d+ passed/);
    expect(stdout).not.toMatch(/failed/);
  }, 200_000);
});

describe("no command in the README drifts", () => {
  it("every shell block of the README and the added documents is run here or names the test that covers it", () => {
    const runHere: string[] = [];
    for (const path of DOCS_WITH_TESTED_COMMANDS) {
      for (const block of shellBlocks(path)) {
        const where = `${path.slice(root.length)}:${block.line}`;
        expect(block.marker, `${where} has no run-by-test or covered-by marker`).toBeDefined();
        if (block.marker?.kind === "covered-by") {
          expect(existsSync(`${root}${block.marker.value}`), `${where}: ${block.marker.value}`).toBe(true);
        } else if (block.marker) runHere.push(block.marker.value);
      }
    }
    expect(runHere.sort()).toEqual([...RUN_HERE].sort());
  });
});
