// The end-of-test summary every script prints: p50/p95/p99 of each Trend, the counters, and each
// threshold marked as correctness (fatal in CI) or timing (reported only: the CI machine is shared).
// A threshold on a Trend is a timing one; on a Counter or Rate a correctness one (docs/performance.md).
import { DURATION, VUS } from "./env.js";

function ms(v) {
  if (v === undefined || v === null) return "-";
  return v >= 100 ? `${v.toFixed(0)}ms` : `${v.toFixed(2)}ms`;
}

function pad(s, n) {
  const str = String(s);
  return str.length >= n ? str : str + " ".repeat(n - str.length);
}

function lpad(s, n) {
  const str = String(s);
  return str.length >= n ? str : " ".repeat(n - str.length) + str;
}

/** Threshold outcomes: [{metric, expr, ok, kind}] */
export function thresholdResults(data) {
  const out = [];
  for (const name of Object.keys(data.metrics).sort()) {
    const m = data.metrics[name];
    if (!m.thresholds) continue;
    for (const expr of Object.keys(m.thresholds)) {
      out.push({
        metric: name,
        expr: expr,
        ok: m.thresholds[expr].ok,
        kind: m.type === "trend" ? "timing" : "correctness",
      });
    }
  }
  return out;
}

function trendLines(data) {
  const lines = [
    `  ${pad("trend", 40)}${["p50", "p95", "p99", "avg", "max", "count"].map((h) => lpad(h, 10)).join("")}`,
  ];
  for (const name of Object.keys(data.metrics).sort()) {
    const m = data.metrics[name];
    if (m.type !== "trend" || name.indexOf("{") >= 0 || name === "iteration_duration") continue;
    if (!m.values.count && m.values.count !== undefined) continue;
    const isTime = m.contains === "time";
    const f = isTime ? ms : (v) => (v === undefined ? "-" : v.toFixed(2));
    const v = m.values;
    lines.push(
      `  ${pad(name, 40)}${[
        f(v["p(50)"]),
        f(v["p(95)"]),
        f(v["p(99)"]),
        f(v.avg),
        f(v.max),
        String(v.count || ""),
      ]
        .map((x) => lpad(x, 10))
        .join("")}`,
    );
  }
  return lines;
}

function counterLines(data) {
  const lines = [];
  const seconds = data.state.testRunDurationMs / 1000;
  for (const name of Object.keys(data.metrics).sort()) {
    const m = data.metrics[name];
    if (name.indexOf("{") >= 0) continue;
    if (m.type === "counter" && name !== "data_received" && name !== "data_sent") {
      lines.push(
        `  ${pad(name, 40)}${lpad(m.values.count, 10)}  (${(m.values.count / seconds).toFixed(1)}/s)`,
      );
    } else if (m.type === "rate") {
      const total = m.values.passes + m.values.fails;
      lines.push(
        `  ${pad(name, 40)}${lpad(`${(m.values.rate * 100).toFixed(2)}%`, 10)}  (${m.values.passes} of ${total})`,
      );
    }
  }
  return lines;
}

/**
 * A handleSummary for `script`: the text to stdout, and with SUMMARY_DIR set also
 * `<name>.txt` and `<name>.json` (name: SUMMARY_NAME, else the script's) (the verdict run-all.sh reads). `extra(data)` adds lines.
 */
export function summaryFor(scriptName, extra) {
  const script = __ENV.SUMMARY_NAME || scriptName;
  return function handleSummary(data) {
    const results = thresholdResults(data);
    const lines = [
      "",
      `== ${script}: VUS=${VUS} DURATION=${DURATION}, ran ${(data.state.testRunDurationMs / 1000).toFixed(1)} s`,
    ];
    lines.push.apply(lines, trendLines(data));
    lines.push("  counters and rates");
    lines.push.apply(lines, counterLines(data));
    if (extra) lines.push.apply(lines, extra(data));
    lines.push("  thresholds");
    for (const r of results) {
      const note = r.kind === "timing" ? "timing, reported only" : "correctness";
      lines.push(`  ${r.ok ? "ok  " : "FAIL"} ${pad(`${r.metric} ${r.expr}`, 50)} (${note})`);
    }
    const verdict = {
      script: script,
      vus: VUS,
      duration: DURATION,
      correctness_failed: results
        .filter((r) => !r.ok && r.kind === "correctness")
        .map((r) => `${r.metric} ${r.expr}`),
      timing_failed: results.filter((r) => !r.ok && r.kind === "timing").map((r) => `${r.metric} ${r.expr}`),
    };
    const text = `${lines.join("\n")}\n`;
    const files = { stdout: text };
    if (__ENV.SUMMARY_DIR) {
      files[`${__ENV.SUMMARY_DIR}/${script}.txt`] = text;
      files[`${__ENV.SUMMARY_DIR}/${script}.json`] = JSON.stringify(verdict);
    }
    return files;
  };
}
