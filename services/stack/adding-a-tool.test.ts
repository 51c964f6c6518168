import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { Client as McpClient } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ToolCallStatus } from "#gen/supportext/agent/v1/agent_pb.js";
import { AuthService } from "#gen/supportext/auth/v1/auth_pb.js";
import { ChatService, MessageStatus } from "#gen/supportext/chat/v1/chat_pb.js";
import { createClientCredentials, SERVICE_IDS } from "#kit/auth/index.js";
import { parseConfig } from "#kit/config/index.js";
import { childEnv } from "#kit/testing/child-env.js";
import { freePort } from "#kit/testing/free-port.js";
import { seedAgentRegistrations } from "#services/identity/agents/agent-registrations.js";
import { openIdentityDatabase } from "#services/identity/data/open-identity-database.js";
import { createTokenExchangeClient } from "#services/mcp-gateway/token/token-exchange-client.js";
import { blockToRun, type CodeBlock, codeBlocks } from "./doc-blocks.js";
import { stackBackends } from "./stack-backends.js";
import { stackDatabase } from "./stack-database.js";
import { processAlive, removeDataDir, type StackUnderTest, startStack } from "./testing/stack-harness.js";

/**
 * docs/adding-a-tool.md, followed start to finish in a copy of the repository: the stack
 * started there on 13 tools, and an agent registered by hand with a list of its own; then every
 * block of the document that names a file applied as written, in order, and its commands run in the
 * copy (the search for pinned counts, formatting and type-checking, its tests); then the stack
 * started again on the same data. The 14th tool must reach the seeded agents with no migration —
 * reconciled at start by the identity service (the allow-list exchanged MCP tokens carry) and the
 * agent service (ListAgents, the planner) — and be listed and called through the MCP SDK's own
 * client, and through a chat turn; the agent registered by hand must not get it.
 */
const run = promisify(execFile);
const root = fileURLToPath(new URL("../../", import.meta.url));
const DOC = `${root}docs/adding-a-tool.md`;
const THIS_TEST = "services/stack/adding-a-tool.test.ts";
const NEW_TOOL = "get_ticket_history";
/** An agent an administrator registers with its own list (docs/identity.md, "Registered agents"). */
const HAND_REGISTERED = { agentId: "triage-bot", allowedTools: ["get_ticket", "list_tickets"] };
/**
 * What a checkout holds that is not the repository's: .git and the directories .gitignore names (the copy
 * gets node_modules by a link, the rest not at all). `.cache/` among them: other tests' `npm start` write
 * and rename its build directories while this copy is made.
 */
const NOT_COPIED = new Set([
  ".git",
  ...readFileSync(join(root, ".gitignore"), "utf8")
    .split("\n")
    .filter((line) => /^[^#*!][^*]*\/$/.test(line.trim()))
    .map((line) => line.trim().slice(0, -1)),
]);
const READY_MS = 240_000;

const copy = mkdtempSync(join(tmpdir(), "adding-a-tool-"));
// Beside the copy, not in it: only DATA_DIR itself is opened to the embedded server's user under root.
const dataDir = mkdtempSync(join(tmpdir(), "adding-a-tool-data-"));
const reportFile = join(copy, ".tmp", "tool-tests.json");
const adminPassword = `admin-${randomBytes(9).toString("base64url")}`;
const secrets = {
  AGENT_CLIENT_SECRET: randomBytes(32).toString("base64url"),
  GATEWAY_CLIENT_SECRET: randomBytes(32).toString("base64url"),
};
const backend = stackBackends().at(-1);
let databaseUrl: string | undefined;
let ports: Record<"identity" | "chat" | "agent" | "gateway" | "mcp", number>;
const stacks: StackUnderTest[] = [];
const clients: McpClient[] = [];
let restarted: Promise<StackUnderTest> | undefined;
let docTests: Promise<string> | undefined;
/** Step 5's commands that only check (type-checking): they run while the stack starts again. */
let checks: Promise<unknown> = Promise.resolve();

/** One start of the copy's stack as `npm start` runs it (its script), on the same ports and data every time. */
async function startCopy(): Promise<StackUnderTest> {
  const script = (
    JSON.parse(readFileSync(join(copy, "package.json"), "utf8")) as { scripts: { start: string } }
  ).scripts.start;
  // The runner itself is the child, without npm in between: one SIGTERM is then one graceful stop,
  // over once it exits with every lock released (docs/architecture.md, "Processes"), so the next
  // start finds its data free.
  const stack = await startStack("bash", ["-c", `cd "$0" && exec ${script}`, copy], {
    env: {
      // As npm runs a script: the package's own node_modules/.bin first.
      PATH: `${join(copy, "node_modules", ".bin")}:${process.env.PATH ?? ""}`,
      DATA_DIR: dataDir,
      IDENTITY_PORT: String(ports.identity),
      CHAT_PORT: String(ports.chat),
      AGENT_PORT: String(ports.agent),
      GATEWAY_PORT: String(ports.gateway),
      MCP_PORT: String(ports.mcp),
      SEED_ADMIN_PASSWORD: adminPassword,
      ...secrets,
      ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    },
  });
  stacks.push(stack);
  // The harness made a data directory of its own, which this stack does not use.
  rmSync(stack.dataDir, { recursive: true, force: true });
  await stack.waitFor((o) => o.includes('"msg":"stack ready"'), READY_MS);
  return stack;
}

/** A documented command in bash, from the copy's root. Rejects, with its output, when it exits non-zero. */
function bash(script: string, env: Record<string, string> = {}) {
  const ran = run("bash", ["-euo", "pipefail", "-c", script], {
    cwd: copy,
    env: childEnv({
      NO_COLOR: "1",
      ...(process.env.DATABASE_URL ? { DATABASE_URL: process.env.DATABASE_URL } : {}),
      ...env,
    }),
    timeout: 300_000,
    maxBuffer: 32 * 1024 * 1024,
  });
  return ran.catch((e: { code?: number; stdout?: string; stderr?: string }) => {
    const output = `${e.stdout ?? ""}${e.stderr ?? ""}`;
    throw Object.assign(new Error(`${script}\nexited ${e.code}:\n${output.slice(-4000)}`), { output });
  });
}

/**
 * One block of the document applied as its opening paragraph says a reader does: a new file is the
 * block; an excerpt (`// …`) puts its new lines before its last line, found after its first ones,
 * and its imports after the file's; anything else is appended.
 */
function applyBlock(block: CodeBlock): void {
  const where = `docs/adding-a-tool.md:${block.line}`;
  const file = join(copy, block.info);
  const lines = block.text.split("\n");
  if (!existsSync(file)) {
    writeFileSync(file, `${block.text}\n`);
    return;
  }
  const current = readFileSync(file, "utf8");
  const gap = lines.findIndex((l) => l.trim() === "// …");
  if (gap === -1) {
    writeFileSync(file, `${current}${current.endsWith("\n") ? "" : "\n"}${block.text}\n`);
    return;
  }
  let start = 0;
  const imports: string[] = [];
  for (; start < gap && /^import\s/.test(lines[start] ?? ""); start++) imports.push(lines[start] ?? "");
  while (start < gap && (lines[start] ?? "").trim() === "") start++;
  const context = lines.slice(start, gap);
  const added = lines.slice(gap + 1, -1);
  const closing = lines.at(-1) ?? "";
  const fileLines = current.split("\n");
  const at = fileLines.flatMap((_, i) => (context.every((c, k) => fileLines[i + k] === c) ? [i] : []));
  expect(at, `${where}: its first lines occur exactly once in ${block.info}`).toHaveLength(1);
  const before = fileLines.indexOf(closing, (at[0] ?? 0) + context.length);
  expect(before, `${where}: ${JSON.stringify(closing)} follows them in ${block.info}`).toBeGreaterThan(-1);
  fileLines.splice(before, 0, ...added);
  if (imports.length > 0) {
    const lastImport = fileLines.findLastIndex((l) => /^import\s/.test(l));
    fileLines.splice(lastImport + 1, 0, ...imports);
  }
  writeFileSync(file, fileLines.join("\n"));
}

/** An admin's access token from the copy's identity service. */
async function adminToken(): Promise<string> {
  const auth = createClient(
    AuthService,
    createConnectTransport({ baseUrl: `http://127.0.0.1:${ports.identity}`, httpVersion: "1.1" }),
  );
  const login = await auth.login({ email: "admin@company.com", password: adminPassword });
  return login.tokens?.accessToken ?? "";
}

/**
 * The MCP SDK's client straight to the copy's MCP server, with the token the gateway would get for
 * `agentId` acting for the user: the RFC 8693 exchange, the agent service's token as actor
 * (docs/architecture.md, "The exchange with an actor"). Its tools are what that agent may call.
 */
async function mcpAs(userToken: string, agentId: string): Promise<McpClient> {
  const tokenEndpoint = `http://127.0.0.1:${ports.identity}/oauth2/token`;
  const agentService = createClientCredentials({
    tokenEndpoint,
    client: { clientId: SERVICE_IDS.agent, clientSecret: secrets.AGENT_CLIENT_SECRET },
  });
  const exchanged = await createTokenExchangeClient({
    tokenEndpoint,
    client: { clientId: SERVICE_IDS.gateway, clientSecret: secrets.GATEWAY_CLIENT_SECRET },
  }).exchange({
    subjectToken: userToken,
    actorToken: await agentService.tokenFor(SERVICE_IDS.gateway, agentId),
    resource: `http://127.0.0.1:${ports.mcp}/mcp`,
    // Empty: the user's scopes, narrowed to the agent's tools (docs/identity.md, "Token exchange").
    scopes: [],
  });
  const client = new McpClient({ name: "adding-a-tool-test", version: "1.0.0" });
  clients.push(client);
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${ports.mcp}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${exchanged.accessToken}` } },
    }),
  );
  return client;
}

/** Closes every MCP client: a stop then finds no open connection to drain. */
async function closeClients(): Promise<void> {
  await Promise.allSettled(clients.splice(0).map((c) => c.close()));
}

const toolNames = async (client: McpClient) => (await client.listTools()).tools.map((t) => t.name);

function chatClient() {
  return createClient(
    ChatService,
    createConnectTransport({ baseUrl: `http://127.0.0.1:${ports.chat}`, httpVersion: "1.1" }),
  );
}

/** The runner's output as JSON lines. */
function logLines(stack: StackUnderTest): Record<string, unknown>[] {
  return stack
    .output()
    .split("\n")
    .filter((l) => l.startsWith("{") && l.endsWith("}"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

beforeAll(async () => {
  // The repository as it is in this checkout, without what is not the repository's.
  cpSync(root, copy, { recursive: true, filter: (src) => !NOT_COPIED.has(basename(src)) });
  symlinkSync(join(root, "node_modules"), join(copy, "node_modules"), "dir");
  mkdirSync(join(copy, ".tmp"));
  databaseUrl = await backend?.prepare();
  ports = {
    identity: await freePort(),
    chat: await freePort(),
    agent: await freePort(),
    gateway: await freePort(),
    mcp: await freePort(),
  };
  await startCopy();
}, READY_MS + 60_000);

afterAll(async () => {
  await Promise.allSettled([restarted]);
  await closeClients();
  for (const stack of stacks) {
    const pids = stack.runnerLines("service ready").map((l) => l.pid as number);
    await Promise.race([stack.stop(), new Promise((r) => setTimeout(r, 30_000))]);
    for (const pid of pids) if (processAlive(pid)) process.kill(pid, "SIGKILL");
    if (stack.child.exitCode === null) stack.child.kill("SIGKILL");
  }
  await Promise.allSettled([docTests, checks]);
  rmSync(copy, { recursive: true, force: true });
  await removeDataDir(dataDir);
  await backend?.dispose();
}, 120_000);

describe("docs/adding-a-tool.md, followed in a copy of the repository", () => {
  it("before: the seeded agents have the 13 tools, and an agent an administrator registers has its own list", async () => {
    const [first] = stacks;
    const token = await adminToken();
    const tools = await toolNames(await mcpAs(token, "support-assistant"));
    expect(tools).toHaveLength(13);
    expect(tools).not.toContain(NEW_TOOL);
    const { agents } = await chatClient().listAgents({}, { headers: { authorization: `Bearer ${token}` } });
    expect(agents.find((a) => a.id === "support-assistant")?.allowedTools).toHaveLength(13);

    // docs/identity.md, "Registered agents": a row an administrator inserts, in the database the
    // stack gives the identity service; a server takes it while the stack runs, PGlite once it stopped.
    const where = stackDatabase(
      parseConfig({ DATA_DIR: dataDir, ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}) }),
      {},
    );
    const register = async () => {
      const db = await openIdentityDatabase({
        DATA_DIR: dataDir,
        DATABASE_URL: where.kind === "embedded-postgres" ? where.url : databaseUrl,
      });
      try {
        await seedAgentRegistrations(db, [HAND_REGISTERED]);
        const { rows } = await db.query<{ agent_id: string; allowed_tools: string[] }>(
          "SELECT agent_id, allowed_tools FROM agent_registrations",
        );
        return Object.fromEntries(rows.map((r) => [r.agent_id, r.allowed_tools]));
      } finally {
        await db.close();
      }
    };
    const lists = where.kind === "pglite" ? undefined : await register();
    if (lists) {
      // Usable at once (docs/identity.md): its MCP token carries its own list.
      const handMade = await toolNames(await mcpAs(token, HAND_REGISTERED.agentId));
      expect(handMade.sort()).toEqual([...HAND_REGISTERED.allowedTools].sort());
    }
    await closeClients();
    await first?.stop();
    expect(first?.child.exitCode).toBe(0);
    const stored = lists ?? (await register());
    // The database the new tool arrives on: written by a start that knew 13 tools.
    expect(stored["support-assistant"]).toHaveLength(13);
    expect(stored["ticket-reader"]).not.toContain(NEW_TOOL);
    expect(stored[HAND_REGISTERED.agentId]).toEqual(HAND_REGISTERED.allowedTools);
  }, 120_000);

  it("every block that names a file is applied as written, then step 5's search for pinned counts and the formatting run", async () => {
    const blocks = codeBlocks(DOC);
    const files = blocks.filter((b) => b.language !== "sh");
    expect(files.length).toBeGreaterThan(0);
    for (const block of blocks.filter((b) => b.marker?.kind === "covered-by" || b.language !== "sh")) {
      const where = `docs/adding-a-tool.md:${block.line}`;
      expect(block.marker, `${where} is marked covered-by: ${THIS_TEST}`).toEqual({
        kind: "covered-by",
        value: THIS_TEST,
      });
      if (block.language !== "sh") expect(block.info, `${where} names its file`).toMatch(/^[\w./-]+$/);
    }
    for (const block of files) applyBlock(block);

    // Step 5's commands, run as written and in order. The search for pinned counts and the formatting
    // (which rewrites files) before the stack reads the files again; the type-check beside that start.
    // Each count the search finds becomes 14, as a reader updates them; the pinned sets it cannot find
    // stay as they are (the last test).
    const commands = blocks.filter((b) => b.language === "sh" && b.marker?.value === THIS_TEST);
    expect(commands.length).toBeGreaterThan(0);
    for (const command of commands) {
      if (!command.text.startsWith("grep ") && !command.text.includes("--write")) {
        const previous = checks;
        checks = previous.then(() => bash(command.text));
        checks.catch(() => undefined);
        continue;
      }
      const { stdout } = await bash(command.text);
      if (!command.text.startsWith("grep ")) continue;
      const found = stdout.trim().split("\n");
      expect(found.length).toBeGreaterThan(0);
      for (const hit of found) {
        const [path, line] = hit.split(":");
        const file = join(copy, path ?? "");
        const lines = readFileSync(file, "utf8").split("\n");
        lines[Number(line) - 1] = (lines[Number(line) - 1] ?? "").replace(/\b13\b/g, "14");
        writeFileSync(file, lines.join("\n"));
      }
    }

    restarted = startCopy();
    restarted.catch(() => undefined);
  }, 300_000);

  it(
    "after a restart on the same data, both services reconcile the seeded agents' lists and log the new tool",
    async () => {
      const second = await restarted;
      if (!second) throw new Error("the stack was not started again");
      const reconciled = logLines(second).filter((l) => l.msg === "seeded agent's allow-list reconciled");
      // docs/adding-a-tool.md, step 3: each service logs it for each seeded agent, the identity
      // service with what changed. Only the seeded agents: the one registered by hand is left alone.
      const said = (service: string) =>
        reconciled
          .filter((l) => l.service === service)
          .map((l) => l.agent_id)
          .sort();
      expect(said("identity")).toEqual(["support-assistant", "ticket-reader"]);
      expect(said("agent")).toEqual(["support-assistant", "ticket-reader"]);
      for (const l of reconciled.filter((l) => l.service === "identity"))
        expect(l).toMatchObject({ added: [NEW_TOOL], removed: [] });
    },
    READY_MS + 10_000,
  );

  it("through the MCP SDK's client: the seeded agents list the 14th tool and it answers; the agent registered by hand neither lists nor may call it", async () => {
    const token = await adminToken();
    const assistant = await mcpAs(token, "support-assistant");
    const tools = await toolNames(assistant);
    expect(tools).toHaveLength(14);
    expect(tools).toContain(NEW_TOOL);

    // A change to a sample ticket, then its history.
    const changed = await assistant.callTool({
      name: "update_ticket_status",
      arguments: { ticket_id: 1, status: "in_progress" },
    });
    expect(changed.isError, JSON.stringify(changed.content)).toBeFalsy();
    const history = await assistant.callTool({ name: NEW_TOOL, arguments: { ticket_id: 1 } });
    expect(history.isError, JSON.stringify(history.content)).toBeFalsy();
    const { events } = history.structuredContent as { events: { action: string; by: string }[] };
    expect(events[0]?.action).toBe("created");
    expect(events.at(-1)).toMatchObject({ action: "update_ticket_status", by: "admin@company.com" });

    // ticket-reader: every tool whose scope is read-only, the new one included.
    const reader = await toolNames(await mcpAs(token, "ticket-reader"));
    expect(reader).toContain(NEW_TOOL);
    expect(reader).not.toContain("update_ticket_status");

    const handMade = await mcpAs(token, HAND_REGISTERED.agentId);
    expect((await toolNames(handMade)).sort()).toEqual([...HAND_REGISTERED.allowedTools].sort());
    const refused = await handMade.callTool({ name: NEW_TOOL, arguments: { ticket_id: 1 } });
    expect(refused.isError).toBe(true);
    expect((refused.content as { text: string }[])[0]?.text).toBe(
      `agent_not_allowed: agent "${HAND_REGISTERED.agentId}" may not call ${NEW_TOOL}`,
    );
  }, 120_000);

  it("through chat: ListAgents shows the new tool, and the embedded planner calls it for a sentence of the corpus", async () => {
    const headers = { authorization: `Bearer ${await adminToken()}` };
    const chat = chatClient();
    const { agents } = await chat.listAgents({}, { headers });
    expect(agents.find((a) => a.id === "support-assistant")?.allowedTools).toHaveLength(14);
    expect(agents.find((a) => a.id === "ticket-reader")?.allowedTools).toContain(NEW_TOOL);

    // The read-only agent, as the rule gives it the tool: the corpus's "show the history of ticket 12".
    const { thread } = await chat.createThread({ agentId: "ticket-reader" }, { headers });
    const turn = await chat.sendMessage(
      { threadId: thread?.id ?? "", content: "show the history of ticket 1" },
      { headers },
    );
    expect(turn.assistantMessage?.status).toBe(MessageStatus.COMPLETE);
    expect(turn.assistantMessage?.toolCalls.map((c) => [c.name, c.status])).toEqual([
      [NEW_TOOL, ToolCallStatus.SUCCEEDED],
    ]);
    expect(turn.assistantMessage?.content).toContain(
      'Ticket #1 "Cannot log in after password reset": 2 event(s), the last update_ticket_status by admin@company.com.',
    );
  }, 120_000);

  it("in the copy, the type-check passes and the document's tests fail only where step 5 says the tools are pinned", async () => {
    // bash -e: the command's exit code says whether it passed.
    await checks;
    // Last, alone beside the idle stack: on a busy machine its servers need the cores.
    // Its exit code is 1 while pinned tests fail: the JSON report says which.
    docTests = bash(`${blockToRun(DOC, "tool-tests")} --reporter=json --outputFile=${reportFile}`).then(
      (r) => r.stdout,
      (e: { output?: string }) => e.output ?? "",
    );
    const output = await docTests;
    expect(existsSync(reportFile), output.slice(-3000)).toBe(true);
    const report = JSON.parse(readFileSync(reportFile, "utf8")) as {
      numPassedTests: number;
      testResults: {
        name: string;
        status: string;
        message: string;
        assertionResults: { fullName: string; status: string; failureMessages: string[] }[];
      }[];
    };
    const ran = report.testResults.map((r) => relative(copy, r.name));
    for (const allowLists of [
      "services/kit/contract/seeded-agent-tools.test.ts",
      "services/identity/agents/reconcile-seeded-agents.test.ts",
      "services/agent/registry/reconcile-seeded-agents.test.ts",
    ])
      expect(ran).toContain(allowLists);
    expect(report.numPassedTests).toBeGreaterThan(0);

    // The files step 5 names as pinning the count or the set of tools.
    const doc = readFileSync(DOC, "utf8");
    const pins = doc.slice(
      doc.indexOf("- the count of tools"),
      doc.indexOf("- the allow-lists need no new test"),
    );
    const pinned = [...pins.matchAll(/`([\w/.-]+\.test\.ts)`/g)].map((m) => m[1] ?? "");
    const failures = report.testResults.flatMap((file) => {
      const path = relative(copy, file.name);
      const failed = file.assertionResults.filter((a) => a.status === "failed");
      if (file.status === "failed" && failed.length === 0)
        return [{ path, test: "(the file)", message: file.message }];
      return failed.map((a) => ({ path, test: a.fullName, message: a.failureMessages.join("\n") }));
    });
    console.log(
      `docs/adding-a-tool.md's tests in the copy: ${report.numPassedTests} passed; failing until their pins are updated:\n` +
        failures.map((f) => `  ${f.path} > ${f.test}`).join("\n"),
    );
    for (const f of failures) {
      expect(
        pinned.some((p) => f.path === p || f.path.endsWith(`/${p}`)),
        `${f.path} > ${f.test} fails, but step 5 does not name it:\n${f.message.slice(0, 1500)}`,
      ).toBe(true);
    }
  }, 300_000);
});
