import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { AuthService } from "#gen/supportext/auth/v1/auth_pb.js";
import {
  gatewayAsAgent,
  NPM_START,
  type StackUnderTest,
  startStack,
} from "#services/stack/testing/stack-harness.js";
import { STACK_SERVICES } from "./process-tree.js";

/**
 * `npm run soak [-- --minutes 10 --vus 10 --principals 50]`: the whole stack as `npm start` runs it
 * (its own temp DATA_DIR and free ports), a bounded steady load of warm CallTool list_tickets
 * through the gateway as the agent service calls it — half the workers as one principal, half
 * spread over many (one login session each) — and, per minute, each process's RSS and heap after
 * a full GC (the lowest of that minute's samples). Ends with each service's change from the
 * first minute after warm-up to the last, held to ±10% for the services under load, and to no
 * growth beyond 10% for chat and the agent, which this load never reaches (docs/performance.md).
 */
const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : Number.NaN;
  return Number.isFinite(v) && v > 0 ? v : fallback;
};
const minutes = arg("minutes", 10);
const vus = arg("vus", 10);
const principals = arg("principals", 50);
const SAMPLE_S = 5;
const SERVICES = STACK_SERVICES;
/** What this load never reaches (CallTool goes to the gateway as the agent would send it). */
const UNLOADED: ReadonlySet<string> = new Set(["chat", "agent"]);
type Service = (typeof SERVICES)[number];

interface Sample {
  readonly at: number;
  readonly rss: number;
  readonly heap: number;
}

function memorySamples(stack: StackUnderTest): Map<Service, Sample[]> {
  const out = new Map<Service, Sample[]>(SERVICES.map((s) => [s, []]));
  for (const line of stack.output().split("\n")) {
    if (!line.startsWith("{") || !line.includes('"msg":"memory"')) continue;
    const rec = JSON.parse(line) as {
      service: Service;
      time: number | string;
      memory: { rss_bytes: number; heap_used_bytes: number };
    };
    out.get(rec.service)?.push({
      at: new Date(rec.time).getTime(),
      rss: rec.memory.rss_bytes,
      heap: rec.memory.heap_used_bytes,
    });
  }
  return out;
}

const mb = (b: number) => (b / 1024 / 1024).toFixed(1);

async function main(): Promise<void> {
  console.log(
    `soak: ${minutes} min, ${vus} workers (${Math.ceil(vus / 2)} on one principal, the rest over ${principals}), CallTool list_tickets through the gateway`,
  );
  const stack = await startStack(process.execPath, [...NPM_START], {
    // --expose-gc: every memory sample is taken after a full GC (services/kit/server/memory-report.ts).
    env: { MEMORY_REPORT_INTERVAL: `${SAMPLE_S}s`, LOG_LEVEL: "info", NODE_OPTIONS: "--expose-gc" },
  });
  process.on("SIGINT", () => void stack.stop());
  try {
    await stack.waitFor((o) => o.includes('"msg":"stack ready"'), 180_000);
    const auth = createClient(
      AuthService,
      createConnectTransport({ baseUrl: `http://127.0.0.1:${stack.ports.identity}`, httpVersion: "1.1" }),
    );
    const login = async () => {
      const res = await auth.login({ email: "admin@company.com", password: stack.adminPassword });
      return res.tokens?.accessToken ?? "";
    };
    const one = await login();
    const many: string[] = [];
    for (let i = 0; i < principals; i++) many.push(await login());
    const gateway = gatewayAsAgent(stack);
    const started = Date.now();
    const deadline = started + minutes * 60_000;
    let calls = 0;
    let failures = 0;
    const worker = async (tokenFor: (i: number) => string) => {
      for (let i = 0; Date.now() < deadline; i++) {
        try {
          await gateway.callTool(
            { name: "list_tickets", argumentsJson: '{"limit":5}' },
            { headers: { authorization: `Bearer ${tokenFor(i)}` } },
          );
          calls++;
        } catch {
          failures++;
        }
      }
    };
    const workers = Array.from({ length: vus }, (_, w) =>
      w < Math.ceil(vus / 2) ? worker(() => one) : worker((i) => many[(w * 7919 + i) % many.length] ?? one),
    );
    const ticker = setInterval(() => {
      const min = ((Date.now() - started) / 60_000).toFixed(1);
      console.log(`  t=${min} min  calls=${calls}  failed=${failures}`);
    }, 60_000);
    await Promise.all(workers);
    clearInterval(ticker);
    console.log(
      `load done: ${calls} calls, ${failures} failed, ${(calls / ((Date.now() - started) / 1000)).toFixed(0)} calls/s`,
    );
    await new Promise((r) => setTimeout(r, (SAMPLE_S + 1) * 1000));
    report(memorySamples(stack), started);
  } finally {
    // Also when the stack never came up: its own lines (in the error above) say why.
    await stack.stop();
  }
}

function report(samples: Map<Service, Sample[]>, started: number): void {
  console.log("\nper minute (RSS MB / heap used after GC MB):");
  console.log(`minute  ${SERVICES.map((s) => s.padEnd(18)).join("")}`);
  const perMinute = new Map<Service, { rss: number; heap: number }[]>();
  for (const s of SERVICES) {
    const rows: { rss: number; heap: number }[] = [];
    for (let m = 0; m < minutes; m++) {
      const inMinute = (samples.get(s) ?? []).filter(
        (x) => x.at >= started + m * 60_000 && x.at < started + (m + 1) * 60_000,
      );
      if (inMinute.length === 0) continue;
      rows[m] = {
        rss: inMinute[inMinute.length - 1]?.rss ?? 0,
        heap: Math.min(...inMinute.map((x) => x.heap)),
      };
    }
    perMinute.set(s, rows);
  }
  for (let m = 0; m < minutes; m++) {
    const cells = SERVICES.map((s) => {
      const r = perMinute.get(s)?.[m];
      return (r ? `${mb(r.rss)} / ${mb(r.heap)}` : "-").padEnd(18);
    });
    console.log(`${String(m + 1).padEnd(8)}${cells.join("")}`);
  }
  // Warm-up: the first minute (JIT, caches, connection pools).
  console.log("\nafter warm-up (minute 2 → last):");
  let flat = true;
  for (const s of SERVICES) {
    const rows = (perMinute.get(s) ?? []).filter(Boolean);
    const first = rows[1];
    const last = rows[rows.length - 1];
    if (!first || !last) continue;
    const rssChange = ((last.rss - first.rss) / first.rss) * 100;
    const heapChange = ((last.heap - first.heap) / first.heap) * 100;
    // chat and the agent carry none of this load: once quiet they give back the heap they grew at
    // start (docs/performance.md, "The heap given back when idle"), a fall that is not a leak.
    const idle = UNLOADED.has(s);
    const within = (change: number) => (idle ? change <= 10 : Math.abs(change) <= 10);
    const ok = within(rssChange) && within(heapChange);
    flat &&= ok;
    const verdict = ok ? (idle ? "no growth (no load here)" : "flat (±10%)") : idle ? "GREW" : "NOT flat";
    console.log(
      `  ${s.padEnd(12)} RSS ${rssChange >= 0 ? "+" : ""}${rssChange.toFixed(1)}%  heap ${heapChange >= 0 ? "+" : ""}${heapChange.toFixed(1)}%  ${verdict}`,
    );
  }
  console.log(
    flat
      ? "every loaded service flat within ±10%, the unloaded ones grew by no more than 10%"
      : "some service moved beyond ±10%",
  );
  process.exitCode = flat ? 0 : 1;
}

await main();
