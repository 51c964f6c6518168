import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { builtinModules } from "node:module";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { childEnv } from "#kit/testing/child-env.js";
import { freePort } from "#kit/testing/free-port.js";
import { removeDataDir, startStack } from "./testing/stack-harness.js";

/**
 * The production build (docs/development.md, "Production build"): `npm run build` into a temporary
 * directory, then its programs started from the compiled JavaScript with plain `node` — no tsx, no
 * TypeScript — as the container image runs them. The build's node_modules is a link to the
 * repository's (no network here); that the compiled code imports no development dependency is
 * checked on its import specifiers instead.
 */

const root = process.cwd();
let out: string;

beforeAll(() => {
  out = mkdtempSync(join(tmpdir(), "compiled-build-"));
  const build = spawnSync(process.execPath, ["scripts/build.mjs", "--out-dir", out], {
    cwd: root,
    encoding: "utf8",
    env: childEnv(),
  });
  expect(build.status, `${build.stdout}\n${build.stderr}`).toBe(0);
  symlinkSync(join(root, "node_modules"), join(out, "node_modules"), "dir");
}, 180_000);

afterAll(() => {
  if (out) rmSync(out, { recursive: true, force: true });
});

/** The build's files, relative to it (its node_modules link left out). */
function buildFiles(dir = out): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return buildFiles(path);
    return e.isFile() ? [relative(out, path)] : [];
  });
}

/** Resolves with the response status once `url` answers, or rejects after `timeoutMs`. */
async function statusOnceAnswering(url: string, child: ChildProcess, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`exited ${child.exitCode} before answering`);
    try {
      return (await fetch(url, { signal: AbortSignal.timeout(2_000) })).status;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

describe("the compiled build", () => {
  it("runs on the Node the product needs: an LTS release from 22 (package.json engines)", () => {
    // npm scripts find node_modules/.bin/node first: the `node` development dependency, installed by
    // its install script. Without it they run on whatever Node the machine has.
    const why = `${process.execPath} is Node ${process.version}: is the \`node\` development dependency installed?`;
    expect(Number(process.versions.node.split(".")[0]), why).toBeGreaterThanOrEqual(22);
    expect(process.release.lts, why).toBeTypeOf("string");
  });

  it("is JavaScript only, with the package files, and imports nothing but Node and the production dependencies", () => {
    const files = buildFiles();
    expect(files.filter((f) => f.endsWith(".ts"))).toEqual([]);
    expect(files).toEqual(
      expect.arrayContaining([
        "package.json",
        "package-lock.json",
        "services/stack/run.js",
        "services/stack/healthcheck.js",
        "services/identity/main.js",
        "services/kit/process/exit-with-runner.js",
        "gen/supportext/auth/v1/auth_pb.js",
      ]),
    );
    const pkg = JSON.parse(readFileSync(join(out, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
      imports: Record<string, string>;
      scripts: Record<string, string>;
    };
    expect(Object.values(pkg.scripts).join(" ")).not.toMatch(/tsx|\.ts\b/);
    expect(Object.keys(pkg.dependencies)).not.toContain("tsx");
    const allowed = new Set([...builtinModules, ...Object.keys(pkg.dependencies)]);
    const outside = new Set<string>();
    for (const file of files.filter((f) => f.endsWith(".js"))) {
      // TypeScript's own scanner: static imports, re-exports and import() calls.
      const { importedFiles } = ts.preProcessFile(readFileSync(join(out, file), "utf8"), true, true);
      for (const { fileName: specifier } of importedFiles) {
        if (specifier.startsWith(".") || specifier.startsWith("node:")) continue;
        if (specifier.startsWith("#")) {
          // The package's own subpath imports (package.json#imports): a file of the build itself.
          const target = subpathTarget(pkg.imports, specifier);
          if (!target || !existsSync(join(out, target))) outside.add(`${file}: ${specifier}`);
          continue;
        }
        const name = specifier.startsWith("@")
          ? specifier.split("/").slice(0, 2).join("/")
          : (specifier.split("/")[0] ?? "");
        if (!allowed.has(name)) outside.add(`${file}: ${specifier}`);
      }
    }
    expect([...outside]).toEqual([]);
  });

  it("starts the identity service with plain node (no tsx): /healthz answers 200, the image's healthcheck passes, SIGTERM stops it", async () => {
    const port = await freePort();
    const dataDir = mkdtempSync(join(tmpdir(), "compiled-identity-"));
    const env = childEnv({
      NODE_ENV: "development",
      HOST: "127.0.0.1",
      IDENTITY_PORT: String(port),
      DATA_DIR: dataDir,
      LOG_FORMAT: "json",
      LOG_LEVEL: "warn",
    });
    let output = "";
    const child = spawn(process.execPath, [join(out, "services/stack/run.js"), "identity"], {
      cwd: out,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stdout?.on("data", (c: Buffer) => {
      output += c.toString();
    });
    child.stderr?.on("data", (c: Buffer) => {
      output += c.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      expect(await statusOnceAnswering(`http://127.0.0.1:${port}/healthz`, child, 120_000), output).toBe(200);
      const check = spawnSync(process.execPath, ["services/stack/healthcheck.js", "identity"], {
        cwd: out,
        env,
        encoding: "utf8",
      });
      expect(check.status, check.stderr).toBe(0);
      child.kill("SIGTERM");
      expect(await exited, output).toBe(0);
      expect(output).not.toMatch(/Unsupported runtime/);
      const after = spawnSync(process.execPath, ["services/stack/healthcheck.js", "identity"], {
        cwd: out,
        env,
        encoding: "utf8",
      });
      expect(after.status).toBe(1);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 180_000);

  it("runs the whole stack from the build: each service a compiled main, none under tsx", async () => {
    const stack = await startStack(process.execPath, [join(out, "services/stack/run.js"), "stack"]);
    try {
      await stack.waitFor((o) => o.includes('"msg":"stack ready"'), 180_000);
      const started = stack.runnerLines("service started");
      // The embedded PostgreSQL, then the five services.
      expect(started).toHaveLength(6);
      for (const line of started) {
        const pid = line.pid as number;
        const argv = existsSync(`/proc/${pid}`)
          ? readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean)
          : [];
        expect(argv.join(" ")).not.toMatch(/tsx|\.ts\b/);
        // The embedded PostgreSQL is the server itself, the runner's child (under setpriv where there is one).
        if (line.process === "postgres") expect(argv.some((a) => a.endsWith("/bin/postgres"))).toBe(true);
        else expect(argv.at(-1)).toBe(join(out, `services/${line.process as string}/main.js`));
      }
    } finally {
      await stack.stop();
      await removeDataDir(stack.dataDir);
    }
    expect(stack.child.exitCode, stack.output().slice(-2000)).toBe(0);
  }, 300_000);
});

/** Where `specifier` leads by one of package.json's `"#prefix/*": "./path/*"` subpath imports. */
function subpathTarget(imports: Record<string, string>, specifier: string): string | undefined {
  for (const [key, target] of Object.entries(imports)) {
    const prefix = key.replace(/\*$/, "");
    if (key.endsWith("*") && specifier.startsWith(prefix)) {
      return target.replace(/\*$/, specifier.slice(prefix.length));
    }
  }
  return undefined;
}
