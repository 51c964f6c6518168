import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, type Harness, initializeBody, startHarness } from "./testing/harness.js";

/**
 * Per-call state is released (docs/mcp-server.md, "Memory"): heap after a full GC, before and after
 * thousands of tools/call on ONE 2025 session and on the stateless 2026-07-28 path, grows by less
 * than a fixed bound. The SDK 1.x server kept ~7 KB per call on a session in JSON-response mode
 * (its stream mapping was never cleaned up): 2,000 calls would be ~14 MB here.
 */
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

// 2,000 calls: the SDK 1.x leak (~7 KB per call) would be ~14 MB, past the bound; a fixed
// overhead (pools, caches filled once) stays under it.
const CALLS = 2_000;
const BOUND_BYTES = 8 * 1024 * 1024;

let h: Harness;
let token: string;
beforeAll(async () => {
  // The log capture keeps every line in memory: per-call lines would read as growth.
  h = await startHarness({ env: { LOG_LEVEL: "warn" }, logLevel: "warn" });
  token = await h.token(ADMIN);
});
afterAll(async () => {
  await h?.close();
});

async function heapAfterGc(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage().heapUsed;
}

/** Calls `send` CALLS times, 4 at a time; returns the heap growth (bytes) after warm-up and GC. */
async function growthOver(send: (i: number) => Promise<Response>): Promise<number> {
  const run = async (count: number) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        while (next < count) {
          const res = await send(next++);
          expect(res.status).toBe(200);
          const body = (await res.json()) as { result?: { isError?: boolean } };
          expect(body.result?.isError).toBeFalsy();
        }
      }),
    );
  };
  await run(500); // warm-up: JIT, pools, caches
  const before = await heapAfterGc();
  await run(CALLS);
  const after = await heapAfterGc();
  const growth = after - before;
  console.log(
    `${CALLS} calls: heap after GC ${(before / 1e6).toFixed(1)} MB → ${(after / 1e6).toFixed(1)} MB (${(growth / CALLS).toFixed(0)} B/call)`,
  );
  return growth;
}

const call = (id: number) => ({
  jsonrpc: "2.0",
  id,
  method: "tools/call",
  params: { name: "get_system_health", arguments: {} },
});

describe("memory per call", () => {
  it("one 2025 session: per-call state is released", async () => {
    const init = await h.post(initializeBody(), { authorization: `Bearer ${token}` });
    const sessionId = init.headers.get("mcp-session-id") ?? "";
    expect(sessionId).not.toBe("");
    await init.text();
    const headers = {
      authorization: `Bearer ${token}`,
      "mcp-session-id": sessionId,
      "mcp-protocol-version": "2025-11-25",
    };
    await (await h.post({ jsonrpc: "2.0", method: "notifications/initialized" }, headers)).text();
    expect(await growthOver((i) => h.post(call(i), headers))).toBeLessThan(BOUND_BYTES);
  }, 600_000);

  it("2026-07-28, stateless: per-call state is released", async () => {
    const headers = {
      authorization: `Bearer ${token}`,
      "mcp-protocol-version": "2026-07-28",
      "mcp-method": "tools/call",
      "mcp-name": "get_system_health",
    };
    const meta = {
      "io.modelcontextprotocol/protocolVersion": "2026-07-28",
      "io.modelcontextprotocol/clientCapabilities": {},
    };
    const growth = await growthOver((i) => {
      const body = call(i);
      return h.post({ ...body, params: { ...body.params, _meta: meta } }, headers);
    });
    expect(growth).toBeLessThan(BOUND_BYTES);
  }, 600_000);
});
