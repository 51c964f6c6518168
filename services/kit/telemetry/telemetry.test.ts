import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { SpanKind } from "@opentelemetry/api";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../config/config.js";
import { serviceTelemetry } from "./service-telemetry.js";
import { configureTracing, flushTracing, tracerFor, tracesExporters } from "./tracing.js";

/**
 * Tracing is off unless the standard variables ask for it; when they do, spans leave the process
 * as OTLP/HTTP (JSON) to the named collector, with the service's name (docs/architecture.md, "Telemetry").
 */
const collected: { path: string; body: string }[] = [];
const collector = http.createServer((req, res) => {
  let body = "";
  req.on("data", (chunk: Buffer) => {
    body += chunk.toString();
  });
  req.on("end", () => {
    collected.push({ path: req.url ?? "", body });
    res.writeHead(200, { "content-type": "application/json" }).end("{}");
  });
});
afterAll(() => new Promise<void>((resolve) => collector.close(() => resolve())));

describe("the OTEL_* settings", () => {
  it("export nothing unless an exporter or an OTLP endpoint is named", () => {
    const exporters = (env: Record<string, string>) => tracesExporters(parseConfig(env));
    expect(exporters({})).toEqual([]);
    expect(exporters({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" })).toEqual(["otlp"]);
    expect(exporters({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://collector:4318/v1/traces" })).toEqual([
      "otlp",
    ]);
    expect(exporters({ OTEL_TRACES_EXPORTER: "console" })).toEqual(["console"]);
    expect(exporters({ OTEL_TRACES_EXPORTER: "otlp,console" })).toEqual(["otlp", "console"]);
    expect(exporters({ OTEL_TRACES_EXPORTER: "none", OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" })).toEqual(
      [],
    );
    expect(exporters({ OTEL_SDK_DISABLED: "true", OTEL_EXPORTER_OTLP_ENDPOINT: "http://c:4318" })).toEqual(
      [],
    );
  });

  it("refuse what this build cannot do, in one line naming the variable", () => {
    expect(() => parseConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" })).toThrow(ConfigError);
    expect(() => parseConfig({ OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" })).toThrow(
      /OTEL_EXPORTER_OTLP_PROTOCOL.*http\/json/,
    );
    expect(() => parseConfig({ OTEL_TRACES_EXPORTER: "jaeger" })).toThrow(/OTEL_TRACES_EXPORTER/);
    expect(() => parseConfig({ OTEL_TRACES_SAMPLER_ARG: "2" })).toThrow(/OTEL_TRACES_SAMPLER_ARG/);
    expect(
      parseConfig({ OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.25" }),
    ).toMatchObject({
      OTEL_TRACES_SAMPLER: "traceidratio",
      OTEL_TRACES_SAMPLER_ARG: 0.25,
    });
  });
});

describe("export", () => {
  it("sends the process's spans to the OTLP endpoint, named after the service", async () => {
    await new Promise<void>((resolve) => collector.listen(0, "127.0.0.1", resolve));
    const endpoint = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`;
    configureTracing("exporting-service", parseConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint }));
    const span = tracerFor("exporting-service").startSpan("a span worth exporting", {
      kind: SpanKind.SERVER,
    });
    span.setAttribute("user.id", "user-1");
    span.end();
    await flushTracing();
    const sent = collected.find((c) => c.path === "/v1/traces");
    expect(sent, "a POST to /v1/traces").toBeDefined();
    const body = JSON.parse(sent?.body ?? "{}") as {
      resourceSpans: {
        resource: { attributes: { key: string; value: { stringValue?: string } }[] };
        scopeSpans: { spans: { name: string; traceId: string }[] }[];
      }[];
    };
    const resource = body.resourceSpans[0]?.resource.attributes.find((a) => a.key === "service.name");
    expect(resource?.value.stringValue).toBe("exporting-service");
    expect(body.resourceSpans[0]?.scopeSpans[0]?.spans[0]?.name).toBe("a span worth exporting");
  });
});

describe("/metrics registry", () => {
  it("holds each service's own series, labelled with its name, and the process figures", async () => {
    const a = serviceTelemetry("svc-a");
    const b = serviceTelemetry("svc-b");
    expect(serviceTelemetry("svc-a")).toBe(a);
    a.rpc.server.handled.inc({ procedure: "p.S/M", code: "ok" });
    const textA = await a.registry.metrics();
    const textB = await b.registry.metrics();
    expect(textA).toContain('rpc_server_handled_total{procedure="p.S/M",code="ok",service="svc-a"} 1');
    expect(textB).not.toContain('procedure="p.S/M"');
    for (const name of [
      "process_resident_memory_bytes",
      "nodejs_eventloop_lag_seconds",
      "nodejs_heap_size_used_bytes",
    ])
      expect(textB).toContain(`${name}{service="svc-b"}`);
  });
});
