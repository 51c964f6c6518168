/**
 * The administrator's password for `npm run audit` against the running service: `AUDIT_PASSWORD`
 * when set (scripts, tests), otherwise asked on the terminal without echo. Never a flag: command
 * lines end up in shell history and `ps`.
 */
export async function readPassword(prompt: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const fromEnv = env.AUDIT_PASSWORD;
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  const stdin = process.stdin;
  if (!stdin.isTTY) {
    throw new Error("no password: set AUDIT_PASSWORD, or run the command in a terminal to be asked for it");
  }
  process.stderr.write(prompt);
  stdin.setRawMode(true);
  stdin.resume();
  stdin.setEncoding("utf8");
  try {
    return await new Promise<string>((resolve, reject) => {
      let typed = "";
      const onData = (chunk: string) => {
        for (const ch of chunk) {
          if (ch === "\r" || ch === "\n" || ch === "\u0004") {
            stdin.off("data", onData);
            resolve(typed);
            return;
          }
          if (ch === "\u0003") {
            stdin.off("data", onData);
            reject(new Error("cancelled"));
            return;
          }
          if (ch === "\u007f" || ch === "\b") typed = typed.slice(0, -1);
          else typed += ch;
        }
      };
      stdin.on("data", onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
    process.stderr.write("\n");
  }
}
