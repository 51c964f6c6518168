// `npm start` (`node scripts/start.mjs`): the stack runner (services/stack/main.ts) and every service
// it starts run as JavaScript compiled from the sources on demand, never TypeScript compiled inside
// each process at run time (docs/development.md, "What `npm start` does and prints"). The command-line
// tools run the same way (`node scripts/start.mjs <program> [arguments…]`: `npm run login`,
// `npm run audit`, `npm run rotate-keys`), through the tree's one entry point, services/stack/run.js. The sources are transpiled file
// by file with esbuild (tsconfig's isolatedModules guarantees that is exact) into
// .cache/start/<hash of the sources>/, once per change of the sources; a start with unchanged
// sources compiles nothing. Type checking stays `npm run typecheck`'s job.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
/** The program to run (services/stack/programs.ts); none is the stack. */
const program = process.argv[2] ?? "stack";
const cacheRoot = join(root, ".cache", "start");

/** Every TypeScript file the programs may load: services/ and gen/, tests left out. */
function sources() {
  const files = [];
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts")) files.push(path);
    }
  };
  walk(join(root, "services"));
  walk(join(root, "gen"));
  return files.sort();
}

/** Whether a live process marked `tree` as the one it runs from. */
function inUse(tree) {
  let entries;
  try {
    entries = readdirSync(tree);
  } catch {
    return false; // Gone already (another start removed it).
  }
  return entries.some((name) => {
    const pid = Number(/^\.in-use-(\d+)$/.exec(name)?.[1]);
    if (!pid) return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      return err.code === "EPERM";
    }
  });
}

const files = sources();
const hash = createHash("sha256");
for (const file of files) hash.update(relative(root, file)).update("\0").update(readFileSync(file)).update("\0");
// The MCP server reports the version in package.json (read beside the compiled tree).
const packageJson = readFileSync(join(root, "package.json"));
hash.update(packageJson);
const id = hash.digest("hex").slice(0, 16);
const out = join(cacheRoot, id);

if (!existsSync(join(out, "services", "stack", "main.js"))) {
  const started = Date.now();
  const { transform, stop } = await import("esbuild");
  // Written aside and renamed into place: two `npm start`s compiling at once never see half a tree.
  const staging = `${out}.${process.pid}.tmp`;
  rmSync(staging, { recursive: true, force: true });
  await Promise.all(
    files.map(async (file) => {
      const { code } = await transform(readFileSync(file, "utf8"), {
        loader: "ts",
        format: "esm",
        target: "node20",
        sourcefile: relative(root, file),
      });
      const target = join(staging, relative(root, file)).replace(/\.ts$/, ".js");
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, code);
    }),
  );
  writeFileSync(join(staging, "package.json"), packageJson);
  // esbuild's service is a process of its own (26 MB): the stack has no use for it once compiled.
  await stop();
  try {
    renameSync(staging, out);
  } catch {
    // Another start finished the same tree first: use it.
    rmSync(staging, { recursive: true, force: true });
  }
  // Trees of earlier sources, unless a running stack still uses one (it restarts services from it).
  for (const entry of readdirSync(cacheRoot)) {
    if (entry === id || entry.endsWith(".tmp")) continue;
    const path = join(cacheRoot, entry);
    if (!inUse(path)) rmSync(path, { recursive: true, force: true });
  }
  // Said by `npm start` only: a tool's output is its own (scripts read it).
  if (program === "stack") {
    console.error(`npm start: compiled ${files.length} files in ${Date.now() - started} ms (.cache/start/${id})`);
  }
}

// This start uses the tree while it runs: a later start with other sources leaves it alone.
const marker = join(out, `.in-use-${process.pid}`);
writeFileSync(marker, "");
process.on("exit", () => rmSync(marker, { force: true }));

// run.js sees the arguments as the tree's entry point is given them: `<program> [arguments…]`.
const entry = join(out, "services", "stack", "run.js");
process.argv.splice(1, 1, entry);
await import(pathToFileURL(entry).href);
