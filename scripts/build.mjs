// `npm run build [-- --out-dir <dir>]` (default dist/): the production build (docs/development.md,
// "Production build"). The services and the generated code compiled to JavaScript by tsc
// (tsconfig.build.json), plus what the compiled code reads at run time or installs with: a
// package.json whose scripts run the compiled programs, package-lock.json and .npmrc, so that
// `npm ci --omit=dev` in the output directory installs exactly the production dependencies.
// Run it from the output directory: `node services/stack/run.js <program>` (identity, chat, agent,
// mcp-gateway, mcp-server, stack, login, rotate-keys, audit). No tsx, no TypeScript at run time.
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = fileURLToPath(new URL("..", import.meta.url));
const { values } = parseArgs({ options: { "out-dir": { type: "string", default: join(root, "dist") } } });
const out = resolve(values["out-dir"]);
// The output directory is emptied first: only when it is one, or an earlier build (never the
// repository, a directory holding it, or anything else).
const holdsRepository = !relative(out, root).startsWith("..");
const earlierBuild = existsSync(join(out, "services/stack/run.js")) && existsSync(join(out, "package.json"));
if (holdsRepository || (existsSync(out) && readdirSync(out).length > 0 && !earlierBuild)) {
  console.error(`build: ${out} is neither empty nor an earlier build; not emptying it`);
  process.exit(1);
}
rmSync(out, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
const args = [tsc, "-p", join(root, "tsconfig.build.json"), "--outDir", out];
const compiled = spawnSync(process.execPath, args, { stdio: "inherit" });
if (compiled.status !== 0) process.exit(compiled.status ?? 1);

// The version the MCP server reports (services/mcp-server/system/versions.ts reads package.json three
// levels above itself) and the dependencies to install; the development scripts (tsx, vitest, buf)
// have no place there: the compiled programs instead, through the one entry point.
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const run = "node services/stack/run.js";
pkg.scripts = {
  start: `${run} stack`,
  login: `${run} login`,
  "rotate-keys": `${run} rotate-keys`,
  audit: `${run} audit`,
};
writeFileSync(join(out, "package.json"), `${JSON.stringify(pkg, null, 2)}\n`);
copyFileSync(join(root, "package-lock.json"), join(out, "package-lock.json"));
copyFileSync(join(root, ".npmrc"), join(out, ".npmrc"));
console.log(`build: ${out}`);
