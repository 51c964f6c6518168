import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { extensionIdOf } from "./extension-id.js";

const HERE = dirname(fileURLToPath(import.meta.url));
/** Outside `examples/` (linted sources only); `dist/` is ignored by git. */
export const DEFAULT_OUT_DIR = join(HERE, "../../dist/extension");
/** Where `npm start` serves chat; the login form lets the user change it. */
export const DEFAULT_CHAT_URL = "http://127.0.0.1:8080";

export interface BuiltExtension {
  /** The unpacked extension: load this directory in chrome://extensions. */
  readonly dir: string;
  readonly id: string;
  /** What chat's CORS_ORIGINS must list. */
  readonly origin: string;
}

/** Bundles the popup (connect-web and the generated clients in `gen/`) and lays the extension out in `outDir`. */
export async function buildExtension(
  outDir = DEFAULT_OUT_DIR,
  chatUrl = DEFAULT_CHAT_URL,
): Promise<BuiltExtension> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: [join(HERE, "src/popup.ts")],
    outfile: join(outDir, "popup.js"),
    bundle: true,
    format: "esm",
    target: "chrome120",
    platform: "browser",
    sourcemap: "linked",
    tsconfig: join(HERE, "tsconfig.json"),
    define: { __DEFAULT_CHAT_URL__: JSON.stringify(chatUrl) },
    logLevel: "warning",
  });
  for (const file of ["popup.html", "popup.css", "oauth-callback.html"])
    copyFileSync(join(HERE, "src", file), join(outDir, file));
  copyFileSync(join(HERE, "manifest.json"), join(outDir, "manifest.json"));
  const id = extensionIdOf(outDir);
  return { dir: outDir, id, origin: `chrome-extension://${id}` };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const outIndex = args.indexOf("--out");
  const urlIndex = args.indexOf("--chat-url");
  const outDir =
    outIndex >= 0 && args[outIndex + 1] ? resolve(args[outIndex + 1] as string) : DEFAULT_OUT_DIR;
  const chatUrl = urlIndex >= 0 && args[urlIndex + 1] ? (args[urlIndex + 1] as string) : DEFAULT_CHAT_URL;
  const built = await buildExtension(outDir, chatUrl);
  const shown = relative(process.cwd(), built.dir) || ".";
  console.log(`built ${shown} (extension id ${built.id})`);
  console.log(`load it: chrome://extensions → Developer mode → Load unpacked → ${built.dir}`);
  console.log(`start the stack for it: CORS_ORIGINS=${built.origin} npm start`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
