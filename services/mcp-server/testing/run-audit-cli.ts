import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

/**
 * Runs the real `npm run audit` script (services/mcp-server/audit-cli.ts) as a child process with
 * exactly `env` — never the shell's environment, so a DATABASE_URL, DATA_DIR or AUDIT_PASSWORD
 * exported where the tests run cannot change what they check. Stdin is closed (no terminal).
 */
export function runAuditCli(
  args: readonly string[],
  env: Record<string, string | undefined>,
): Promise<CliResult> {
  const clean: Record<string, string> = { NODE_ENV: "test", LOG_LEVEL: "error" };
  if (process.env.PATH) clean.PATH = process.env.PATH;
  for (const [k, v] of Object.entries(env)) if (v !== undefined) clean[k] = v;
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ["--liftoff-only", "scripts/start.mjs", "audit", ...args],
      { cwd: ROOT, env: clean, timeout: 120_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end();
  });
}
