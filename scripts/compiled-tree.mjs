// The sources as JavaScript, compiled on demand and cached: what `npm start` and the command-line
// tools run (scripts/start.mjs; docs/development.md, "What `npm start` does and prints"), never
// TypeScript compiled inside each process at run time. The sources are transpiled file by file with
// esbuild (tsconfig's isolatedModules guarantees that is exact) into .cache/start/<hash of the
// sources>/, once per change of the sources; unchanged sources compile nothing. Type checking stays
// `npm run typecheck`'s job.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
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

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === "EPERM";
  }
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
    return pid > 0 && alive(pid);
  });
}

/** Marks `tree` as used by this process until it exits; best effort (a read-only cache still runs). */
function markInUse(tree) {
  const marker = join(tree, `.in-use-${process.pid}`);
  try {
    writeFileSync(marker, "");
  } catch {
    return;
  }
  process.on("exit", () => rmSync(marker, { force: true }));
}

/**
 * Trees of earlier sources, unless a running stack or tool still uses one (a stack restarts
 * services from it), and staging trees whose compiling process is gone (a start stopped mid-compile).
 */
function removeStaleTrees(current) {
  for (const entry of readdirSync(cacheRoot)) {
    if (entry === current) continue;
    const path = join(cacheRoot, entry);
    const staging = /\.(\d+)\.tmp$/.exec(entry);
    if (staging ? !alive(Number(staging[1])) : !inUse(path)) rmSync(path, { recursive: true, force: true });
  }
}

/**
 * The compiled tree of the current sources, compiled first if there is none, and marked as used by
 * this process. `onCompiled` hears how many files were compiled and how long it took.
 */
export async function compiledTree(onCompiled = () => undefined) {
  const files = sources();
  const hash = createHash("sha256");
  for (const file of files) hash.update(relative(root, file)).update("\0").update(readFileSync(file)).update("\0");
  // The MCP server reports the version in package.json (read beside the compiled tree).
  const packageJson = readFileSync(join(root, "package.json"));
  hash.update(packageJson);
  const id = hash.digest("hex").slice(0, 16);
  const out = join(cacheRoot, id);
  if (existsSync(join(out, "services", "stack", "run.js"))) {
    markInUse(out);
    return out;
  }
  const started = Date.now();
  const { transform, stop } = await import("esbuild");
  // Written aside and renamed into place: two starts compiling at once never see half a tree.
  const staging = `${out}.${process.pid}.tmp`;
  rmSync(staging, { recursive: true, force: true });
  try {
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
  } finally {
    // esbuild's service is a process of its own (26 MB): nothing here needs it once compiled.
    await stop();
  }
  // Marked before it is in place: a start with other sources never removes it in between.
  markInUse(staging);
  try {
    renameSync(staging, out);
    markInUse(out);
  } catch (err) {
    // Another start finished the same tree first: use it. Anything else is this start's failure.
    rmSync(staging, { recursive: true, force: true });
    if (!existsSync(join(out, "services", "stack", "run.js"))) throw err;
    markInUse(out);
  }
  removeStaleTrees(id);
  onCompiled({ files: files.length, ms: Date.now() - started, id });
  return out;
}
