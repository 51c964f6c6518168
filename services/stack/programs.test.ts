import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { PROGRAM_NAMES, programNamed, programUrl } from "./programs.js";

/** The names the image's entry point (`run.ts`) and its health check (`healthcheck.ts`) understand. */
describe("programs of a build", () => {
  it("each name is a main module beside the runner", () => {
    for (const name of PROGRAM_NAMES) expect(existsSync(fileURLToPath(programUrl(name))), name).toBe(true);
  });

  it("names a program by its name, or a service by the main-module path compose and the manifests give", () => {
    expect(programNamed("identity")).toBe("identity");
    expect(programNamed("rotate-keys")).toBe("rotate-keys");
    expect(programNamed("services/mcp-gateway/main.ts")).toBe("mcp-gateway");
    expect(programNamed("./services/chat/main.js")).toBe("chat");
    expect(programNamed("services/stack/main.ts")).toBe("stack");
  });

  it("names nothing else", () => {
    for (const arg of [
      undefined,
      "",
      "node",
      "services/stack/run.js",
      "services/kit/main.ts",
      "constructor",
      "toString",
    ])
      expect(programNamed(arg), String(arg)).toBeUndefined();
  });
});
