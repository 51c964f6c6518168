import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { PROTOCOL_VERSIONS } from "../mcp/protocol-versions.js";

/**
 * Version of an installed package, read from its own package.json (what actually runs). Found via
 * Node's module search path rather than `require.resolve(pkg)`, which fails for packages whose
 * `exports` map has no root entry or hides package.json (the MCP SDK does both).
 */
function installedVersion(pkg: string): string {
  const require = createRequire(import.meta.url);
  for (const dir of require.resolve.paths(pkg) ?? []) {
    try {
      const meta = JSON.parse(readFileSync(join(dir, pkg, "package.json"), "utf8")) as {
        name?: string;
        version?: string;
      };
      if (meta.name === pkg && meta.version) return meta.version;
    } catch {
      // not installed at this level; keep looking
    }
  }
  return "unknown";
}

function serviceVersion(): string {
  try {
    const meta = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
      version?: string;
    };
    return meta.version ?? "unknown";
  } catch {
    return "unknown";
  }
}

/** Read once at start-up: none of these change while the process runs. */
export function collectVersions(): Record<string, string> {
  return {
    service: serviceVersion(),
    node: process.versions.node,
    mcp_sdk: installedVersion("@modelcontextprotocol/server"),
    mcp_protocol: PROTOCOL_VERSIONS.join(", "),
    pglite: installedVersion("@electric-sql/pglite"),
    pg: installedVersion("pg"),
  };
}
