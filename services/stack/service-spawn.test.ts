import { describe, expect, it } from "vitest";
import { serviceNodeArgs } from "./service-spawn.js";

describe("a service's Node arguments", () => {
  it("on PGlite, V8's baseline WebAssembly compiler only (docs/performance.md, 'Embedded PGlite')", () => {
    const args = serviceNodeArgs("/app/services/chat/main.js", { STACK_DATABASE: "pglite" });
    expect(args[0]).toBe("--liftoff-only");
    expect(args.at(-1)).toBe("/app/services/chat/main.js");
  });

  it("on PostgreSQL, no WebAssembly flag: undici's parser keeps V8's optimising tier", () => {
    expect(serviceNodeArgs("/app/services/chat/main.js", {})).not.toContain("--liftoff-only");
  });

  it("TypeScript sources under tsx, compiled JavaScript as is; the runner watch loads first", () => {
    const ts = serviceNodeArgs("/src/services/chat/main.ts", {});
    expect(ts.slice(0, 2)).toEqual(["--import", "tsx"]);
    expect(ts[3]).toMatch(/exit-with-runner\.ts$/);
    expect(serviceNodeArgs("/app/services/chat/main.js", {})).not.toContain("tsx");
  });
});
