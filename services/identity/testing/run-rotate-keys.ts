import { spawn } from "node:child_process";
import type { TestIdentity } from "./test-identity.js";

/** Runs the real `npm run rotate-keys` command (its script: the compiled tree's tool) against a test identity service's database. */
export function runRotateKeys(
  chat: TestIdentity,
  args: readonly string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const schemaArgs = chat.schema ? ["--schema", chat.schema] : [];
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--liftoff-only", "scripts/start.mjs", "rotate-keys", ...args, ...schemaArgs],
      { env: { PATH: process.env.PATH ?? "", ...chat.env }, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}
