/**
 * The Kubernetes manifests (docs/deployment.md): `.ci/k8s-check` passes, the validator refuses what
 * the API server would, and the rendered overlays hold the product's facts — two probed, limited,
 * non-root replicas per service, network policies that let only the chain through, one database
 * role and secret per service, configuration the services accept, and the README's secrets.
 */
import { execFile, execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import {
  type Config,
  parseConfig,
  readSecretFiles,
  refuseDevelopmentSecrets,
  SECRET_VARIABLES,
  type SecretName,
} from "#kit/config/index.js";
import { toSchemaName } from "#kit/db/index.js";
import { validateSources } from "./validate.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const run = promisify(execFile);

const hasKubectl = spawnSync("kubectl", ["version", "--client"], { stdio: "ignore" }).status === 0;
if (!hasKubectl) console.warn("deploy/manifests.test.ts: skipped, no kubectl to render the overlays");

// biome-ignore lint/suspicious/noExplicitAny: rendered manifests are untyped JSON
type K8s = any;

/** The five services, their ports (docs/configuration.md) and whether they keep a database. */
const SERVICES = {
  identity: { port: 8084, portVariable: "IDENTITY_PORT", database: true },
  chat: { port: 8080, portVariable: "CHAT_PORT", database: true },
  agent: { port: 8081, portVariable: "AGENT_PORT", database: true },
  "mcp-gateway": { port: 8082, portVariable: "GATEWAY_PORT", database: false },
  "mcp-server": { port: 8083, portVariable: "MCP_PORT", database: true },
} as const;
type Service = keyof typeof SERVICES;
const SERVICE_NAMES = Object.keys(SERVICES) as Service[];
const OUTSIDE = "namespace:ingress-nginx";

function render(overlay: string): K8s[] {
  const text = execFileSync("kubectl", ["kustomize", join(root, "deploy", overlay)], {
    encoding: "utf8",
    maxBuffer: 32 * 1024 * 1024,
  });
  return parseAllDocuments(text)
    .map((d) => d.toJS())
    .filter((o) => o);
}

const all = (objects: K8s[], kind: string): K8s[] => objects.filter((o) => o.kind === kind);
const named = (objects: K8s[], kind: string, name: string): K8s => {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`no ${kind} ${name}`);
  return found;
};

/** Whether a label selector (matchLabels, matchExpressions) selects `labels`; `{}` selects all. */
function selects(selector: K8s, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(selector?.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector?.matchExpressions ?? []) {
    const value = labels[e.key];
    if (e.operator === "In" && !(value !== undefined && e.values.includes(value))) return false;
    if (e.operator === "NotIn" && value !== undefined && e.values.includes(value)) return false;
    if (e.operator === "Exists" && value === undefined) return false;
    if (e.operator === "DoesNotExist" && value !== undefined) return false;
  }
  return true;
}

/** The pods of the namespace by name (the services', and the development PostgreSQL's). */
function podLabels(objects: K8s[]): Map<string, Record<string, string>> {
  const pods = new Map<string, Record<string, string>>();
  for (const o of [...all(objects, "Deployment"), ...all(objects, "StatefulSet")])
    pods.set(o.metadata.name, o.spec.template.metadata.labels);
  return pods;
}

/**
 * What the network policies let through for the pod `name`, one direction: every peer as the pod
 * names it selects in the namespace, `namespace:<name>` for another namespace, `cidr:<block>` for
 * addresses, `any` for a rule without peers; each with its ports, e.g. "chat:8081".
 */
function allowed(objects: K8s[], name: string, direction: "ingress" | "egress"): Set<string> {
  const pods = podLabels(objects);
  const own = pods.get(name);
  if (!own) throw new Error(`no pod ${name}`);
  const type = direction === "ingress" ? "Ingress" : "Egress";
  const out = new Set<string>();
  for (const policy of all(objects, "NetworkPolicy")) {
    if (!selects(policy.spec.podSelector, own) || !policy.spec.policyTypes.includes(type)) continue;
    for (const rule of policy.spec[direction] ?? []) {
      const ports: string[] = (rule.ports ?? [{ port: "*" }]).map((p: K8s) => String(p.port));
      const peers: K8s[] = rule[direction === "ingress" ? "from" : "to"] ?? [];
      const names: string[] = [];
      if (peers.length === 0) names.push("any");
      for (const peer of peers) {
        if (peer.ipBlock) names.push(`cidr:${peer.ipBlock.cidr}`);
        else if (peer.namespaceSelector) {
          const ns = peer.namespaceSelector.matchLabels?.["kubernetes.io/metadata.name"] ?? "*";
          names.push(peer.podSelector ? `namespace:${ns}/pods` : `namespace:${ns}`);
        } else {
          for (const [pod, labels] of pods) if (selects(peer.podSelector, labels)) names.push(pod);
        }
      }
      for (const n of names) for (const p of ports) out.add(`${n}:${p}`);
    }
  }
  return out;
}

/** The variables of services/kit/config/config.ts's schema, read from its source. */
function configVariables(): Set<string> {
  const source = readFileSync(join(root, "services/kit/config/config.ts"), "utf8");
  const start = source.indexOf("const envSchema = z.object({");
  const body = source.slice(start, source.indexOf("\n});", start));
  return new Set([...body.matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm)].map((m) => m[1] as string));
}

/** The configuration one service's container sees, `*_FILE` read through `readFile` as mounted. */
function containerConfig(objects: K8s[], deployment: K8s, readFile: (path: string) => string): Config {
  const container = deployment.spec.template.spec.containers[0];
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? [])
    Object.assign(env, named(objects, "ConfigMap", source.configMapRef.name).data);
  for (const e of container.env ?? []) env[e.name] = e.value;
  const { env: resolved, problems } = readSecretFiles(env, readFile);
  expect(problems, deployment.metadata.name).toEqual([]);
  const config = parseConfig(resolved);
  const secrets = Object.keys(env)
    .filter((k) => k.endsWith("_FILE"))
    .map((k) => k.slice(0, -"_FILE".length))
    .filter((k) => k !== "DATABASE_URL" && k !== "LLM_API_KEY") as SecretName[];
  refuseDevelopmentSecrets(config, secrets);
  return config;
}

/** For a pod: the Secret and key behind a mounted file path, from its volumes and mounts. */
function secretFileOf(deployment: K8s, path: string): { secret: string; key: string } {
  const spec = deployment.spec.template.spec;
  for (const mount of spec.containers[0].volumeMounts ?? []) {
    if (!path.startsWith(`${mount.mountPath}/`)) continue;
    const file = path.slice(mount.mountPath.length + 1);
    const volume = spec.volumes.find((v: K8s) => v.name === mount.name);
    if (!volume?.secret) continue;
    const items: K8s[] | undefined = volume.secret.items;
    const key = items ? items.find((i) => i.path === file)?.key : file;
    if (key) return { secret: volume.secret.secretName, key };
  }
  throw new Error(`${deployment.metadata.name}: nothing mounted at ${path}`);
}

/** Every Secret (with the keys the pod reads) and ConfigMap a Deployment refers to. */
function references(deployment: K8s): { secrets: Map<string, Set<string>>; configMaps: Set<string> } {
  const spec = deployment.spec.template.spec;
  const secrets = new Map<string, Set<string>>();
  const configMaps = new Set<string>();
  for (const v of spec.volumes ?? []) {
    if (v.configMap) configMaps.add(v.configMap.name);
    if (v.secret && !secrets.has(v.secret.secretName)) secrets.set(v.secret.secretName, new Set());
  }
  for (const c of spec.containers) {
    for (const s of c.envFrom ?? []) if (s.configMapRef) configMaps.add(s.configMapRef.name);
    for (const e of c.env ?? []) {
      if (!e.name.endsWith("_FILE")) continue;
      const { secret, key } = secretFileOf(deployment, e.value);
      secrets.get(secret)?.add(key);
    }
  }
  return { secrets, configMaps };
}

describe.skipIf(!hasKubectl)("deploy/: the Kubernetes manifests", () => {
  it("bash .ci/k8s-check renders both overlays and validates every object offline", async () => {
    const { stdout } = await run("bash", [join(root, ".ci/k8s-check")], { cwd: root, maxBuffer: 16 << 20 });
    const lines = stdout.trim().split("\n");
    for (const overlay of ["development", "production"]) {
      const count = render(`overlays/${overlay}`).length;
      expect(lines, overlay).toContain(`${overlay}: ${count} objects, ${count} valid, 0 invalid`);
      expect(lines.filter((l) => l.startsWith(`${overlay}: ok `))).toHaveLength(count);
    }
    expect(lines.at(-1)).toMatch(/^total: (\d+) objects in 2 file\(s\), \1 valid, 0 invalid$/);
  }, 180_000);

  it("the validator refuses an unknown field, a wrong type, a bad enum and an unknown kind (and the CLI exits 1)", async () => {
    const deployment = (container: object, replicas: unknown = 2) => ({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "d" },
      spec: {
        replicas,
        selector: { matchLabels: { a: "b" } },
        template: {
          metadata: { labels: { a: "b" } },
          spec: { containers: [{ name: "c", image: "i", ...container }] },
        },
      },
    });
    const docs = [
      deployment({ readinessProbe: { httpGet: { path: "/readyz", port: "http" } } }),
      deployment({ securityContext: { readOnlyRootFileSystem: true } }),
      deployment({}, "two"),
      {
        apiVersion: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: { name: "n" },
        spec: { podSelector: {}, policyTypes: ["Inbound"] },
      },
      { apiVersion: "v1", kind: "Probe", metadata: { name: "p" } },
      { apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w" } },
    ];
    const text = docs.map((d) => JSON.stringify(d)).join("\n---\n");
    const results = await validateSources([{ name: "t", text }]);
    expect(results.map((r) => r.problems.length > 0)).toEqual([false, true, true, true, true, true]);
    expect(results[1]?.problems.join()).toContain("'readOnlyRootFileSystem' does not exist");
    expect(results[2]?.problems.join()).toContain("/spec/replicas must be integer");
    expect(results[3]?.problems.join()).toContain(
      "/spec/policyTypes/0 must be equal to one of the allowed values",
    );
    expect(results[4]?.problems.join()).toContain("unknown kind");
    expect(results[5]?.problems.join()).toContain(
      "unknown kind: the Kubernetes API has no Widget in example.com/v1",
    );

    const cli = spawnSync("npx", ["tsx", join(root, "deploy/validate.ts"), "-"], {
      cwd: root,
      input: text,
      encoding: "utf8",
    });
    expect(cli.status).toBe(1);
    expect(cli.stdout).toContain(
      "stdin: INVALID apps/v1 Deployment d: schema: /spec/replicas must be integer",
    );
    expect(cli.stdout.trim().split("\n").at(-1)).toBe("total: 6 objects in 1 file(s), 1 valid, 5 invalid");
  }, 120_000);

  describe.each(["development", "production"])("overlay %s", (overlay) => {
    const objects = hasKubectl ? render(`overlays/${overlay}`) : [];

    it("a Deployment per service: 2 replicas, both probes on its port, requests and limits, non-root, read-only, no capabilities", () => {
      const deployments = all(objects, "Deployment");
      expect(deployments.map((d) => d.metadata.name).sort()).toEqual([...SERVICE_NAMES].sort());
      for (const d of deployments) {
        const name = d.metadata.name as Service;
        const pod = d.spec.template.spec;
        const [c, ...others] = pod.containers;
        expect(others, name).toEqual([]);
        expect(d.spec.replicas, name).toBe(2);
        expect(c.args, name).toEqual([`services/${name}/main.ts`]);
        expect(existsSync(join(root, c.args[0])), name).toBe(true);

        const port = c.ports.find((p: K8s) => p.name === "http");
        expect(port.containerPort, name).toBe(SERVICES[name].port);
        expect(c.readinessProbe.httpGet, name).toEqual({ path: "/readyz", port: "http" });
        expect(c.livenessProbe.httpGet, name).toEqual({ path: "/healthz", port: "http" });
        expect(c.startupProbe.httpGet, name).toEqual({ path: "/healthz", port: "http" });

        for (const r of ["cpu", "memory"]) {
          expect(c.resources.requests[r], `${name} requests.${r}`).toBeDefined();
          expect(c.resources.limits[r], `${name} limits.${r}`).toBeDefined();
        }
        expect(pod.securityContext, name).toMatchObject({
          runAsNonRoot: true,
          seccompProfile: { type: "RuntimeDefault" },
        });
        expect(pod.securityContext.runAsUser, name).toBeGreaterThan(0);
        expect(c.securityContext, name).toMatchObject({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ["ALL"] },
        });
        // Service links would put CHAT_PORT=tcp://… and the like in the environment.
        expect(pod.enableServiceLinks, name).toBe(false);
        expect(pod.automountServiceAccountToken, name).toBe(false);

        const labels = d.spec.template.metadata.labels;
        const service = all(objects, "Service").find((s) =>
          selects({ matchLabels: s.spec.selector }, labels),
        );
        expect(service?.metadata.name, name).toBe(name);
        expect(service.spec.ports, name).toEqual([
          { name: "http", port: SERVICES[name].port, targetPort: "http", protocol: "TCP" },
        ]);
        const pdb = all(objects, "PodDisruptionBudget").find((p) => selects(p.spec.selector, labels));
        expect(pdb?.spec.minAvailable, name).toBe(1);
      }
    });

    it("network policies: default deny, and only the chain — agent from chat only, mcp-gateway from agent only", () => {
      const denyAll = all(objects, "NetworkPolicy").find(
        (p) => Object.keys(p.spec.podSelector).length === 0 && !p.spec.ingress && !p.spec.egress,
      );
      expect(denyAll?.spec.policyTypes.sort()).toEqual(["Egress", "Ingress"]);

      expect(allowed(objects, "agent", "ingress")).toEqual(new Set(["chat:8081"]));
      expect(allowed(objects, "mcp-gateway", "ingress")).toEqual(new Set(["agent:8082"]));
      expect(allowed(objects, "chat", "ingress")).toEqual(new Set([`${OUTSIDE}:8080`]));
      expect(allowed(objects, "mcp-server", "ingress")).toEqual(
        new Set(["mcp-gateway:8083", `${OUTSIDE}:8083`]),
      );
      expect(allowed(objects, "identity", "ingress")).toEqual(
        new Set(["chat:8084", "agent:8084", "mcp-gateway:8084", "mcp-server:8084", `${OUTSIDE}:8084`]),
      );

      // Calls between pods of the namespace: the chain, identity from all, PostgreSQL (port 5432,
      // anywhere) for the four services with a database; DNS for everyone.
      const dns = ["namespace:kube-system/pods:53"];
      const postgres = ["any:5432"];
      const calls = (name: string) =>
        [...allowed(objects, name, "egress")].filter((p) => !p.startsWith("cidr:")).sort();
      expect(calls("chat")).toEqual([...dns, ...postgres, "agent:8081", "identity:8084"].sort());
      expect(calls("agent")).toEqual([...dns, ...postgres, "mcp-gateway:8082", "identity:8084"].sort());
      expect(calls("mcp-gateway")).toEqual([...dns, "mcp-server:8083", "identity:8084"].sort());
      expect(calls("mcp-server")).toEqual([...dns, ...postgres, "identity:8084"].sort());
      expect(calls("identity")).toEqual([...dns, ...postgres].sort());
      // identity's only way out: https to public addresses (Client ID Metadata Documents).
      const out = [...allowed(objects, "identity", "egress")].filter((p) => p.startsWith("cidr:"));
      expect(out.sort()).toEqual(["cidr:0.0.0.0/0:443", "cidr:::/0:443"]);
      for (const name of ["chat", "agent", "mcp-gateway", "mcp-server"])
        expect(
          [...allowed(objects, name, "egress")].filter((p) => p.startsWith("cidr:")),
          name,
        ).toEqual([]);
      if (overlay === "development")
        expect(allowed(objects, "postgres", "ingress")).toEqual(
          new Set(["identity:5432", "chat:5432", "agent:5432", "mcp-server:5432"]),
        );
    });

    it("configuration: real variable names, secrets only as files, and every service accepts it", () => {
      const variables = configVariables();
      const fileVariables = new Set(SECRET_VARIABLES.map((v) => `${v}_FILE`));
      for (const d of all(objects, "Deployment")) {
        const name = d.metadata.name as Service;
        const c = d.spec.template.spec.containers[0];
        const config = named(objects, "ConfigMap", c.envFrom[0].configMapRef.name);
        for (const key of Object.keys(config.data)) expect(variables, `${name}: ${key}`).toContain(key);
        for (const e of c.env) expect(fileVariables, `${name}: ${e.name}`).toContain(e.name);
        expect(config.data[SERVICES[name].portVariable], name).toBe(String(SERVICES[name].port));
        for (const secret of SECRET_VARIABLES)
          expect(config.data[secret], `${name}: ${secret}`).toBeUndefined();
      }

      // Development: the rendered Secrets, read where the pods mount them. Production: real-looking
      // values for the Secrets the operator creates (32 bytes and more, NODE_ENV=production).
      const secretValue = (d: K8s, path: string): string => {
        const { secret, key } = secretFileOf(d, path);
        if (overlay === "production")
          return key === "DATABASE_URL"
            ? `postgres://support_x:${"p".repeat(32)}@db.internal:5432/support`
            : `${key}-operator-value-of-32-bytes-or-more`;
        const data = named(objects, "Secret", secret).data?.[key];
        if (data === undefined) throw new Error(`${secret} has no ${key}`);
        return Buffer.from(data, "base64").toString("utf8");
      };
      for (const d of all(objects, "Deployment")) {
        const config = containerConfig(objects, d, (path) => secretValue(d, path));
        expect(config.NODE_ENV).toBe(overlay);
        expect(config.HOST).toBe("0.0.0.0");
        expect(config.IDENTITY_URL).toBe("http://identity:8084");
        expect(config.MCP_URL).toBe("http://mcp-server:8083/mcp");
        expect(config.DATABASE_URL !== undefined, d.metadata.name).toBe(
          SERVICES[d.metadata.name as Service].database,
        );
      }
    });

    it("the Ingress serves the public host names the configuration names", () => {
      const [ingress, ...others] = all(objects, "Ingress");
      expect(others).toEqual([]);
      const data = all(objects, "ConfigMap").find((c) =>
        c.metadata.name.startsWith("support-ext-config-"),
      ).data;
      const backend = (host: string, path: string) =>
        ingress.spec.rules.find((r: K8s) => r.host === host)?.http.paths.find((p: K8s) => p.path === path)
          ?.backend.service.name;
      const issuer = new URL(data.AUTH_ISSUER);
      const chat = new URL(data.CHAT_URL);
      const mcp = new URL(data.MCP_RESOURCE);
      expect(backend(issuer.host, "/")).toBe("identity");
      expect(backend(chat.host, "/")).toBe("chat");
      expect(backend(mcp.host, mcp.pathname)).toBe("mcp-server");
      expect(backend(mcp.host, "/.well-known/oauth-protected-resource")).toBe("mcp-server");
      expect(ingress.spec.rules).toHaveLength(3);
      if (overlay === "production") {
        for (const url of [issuer, chat, mcp]) expect(url.protocol).toBe("https:");
        expect(ingress.spec.tls).toEqual([
          { hosts: [chat.host, issuer.host, mcp.host], secretName: "support-ext-tls" },
        ]);
      }
    });

    it("PostgreSQL: one role and schema per service with a database, each its own DATABASE_URL secret", () => {
      const sql = readFileSync(join(root, "deploy/base/postgres-roles.sql"), "utf8");
      const owners = Object.fromEntries(
        [...sql.matchAll(/^CREATE SCHEMA IF NOT EXISTS (\w+) AUTHORIZATION (\w+);$/gm)].map((m) => [
          m[1],
          m[2],
        ]),
      );
      const withDatabase = SERVICE_NAMES.filter((s) => SERVICES[s].database);
      // The schema each service picks itself (services/kit/db/schema-name.ts), owned by its own role.
      expect(owners).toEqual(
        Object.fromEntries(withDatabase.map((s) => [toSchemaName(s), `support_${toSchemaName(s)}`])),
      );
      expect(named(objects, "ConfigMap", "postgres-roles").data["postgres-roles.sql"]).toBe(sql);

      const databaseSecrets = new Map<string, string>();
      for (const d of all(objects, "Deployment")) {
        const file = d.spec.template.spec.containers[0].env.find((e: K8s) => e.name === "DATABASE_URL_FILE");
        expect(file !== undefined, d.metadata.name).toBe(SERVICES[d.metadata.name as Service].database);
        if (file) databaseSecrets.set(d.metadata.name, secretFileOf(d, file.value).secret);
      }
      expect([...databaseSecrets.values()].sort()).toEqual(withDatabase.map((s) => `${s}-database`).sort());

      if (overlay === "development") {
        const decode = (secret: string, key: string) =>
          Buffer.from(named(objects, "Secret", secret).data[key], "base64").toString("utf8");
        for (const [service, secret] of databaseSecrets) {
          const url = new URL(decode(secret, "DATABASE_URL"));
          const schema = toSchemaName(service);
          expect(url.username).toBe(`support_${schema}`);
          // The password the in-cluster PostgreSQL gives that role (postgres-init.sh).
          const roleSecret = named(objects, "StatefulSet", "postgres").spec.template.spec.volumes.find(
            (v: K8s) => v.name === "role-passwords",
          ).secret.secretName;
          expect(url.password).toBe(decode(roleSecret, schema));
        }
      }
    });

    it("every Secret and ConfigMap a pod reads is rendered, or (production) is one the README has the operator create", () => {
      const readme = readFileSync(join(root, "README.md"), "utf8");
      const section = readme.slice(readme.indexOf("## Deploying to Kubernetes"));
      // The commands as the shell reads them: continued lines joined.
      const commands = section.replace(/\\\n/g, " ").split("\n");
      const created = new Map<string, Set<string>>();
      for (const command of commands) {
        const secret = /create secret generic ([a-z0-9-]+)/.exec(command)?.[1];
        if (secret)
          created.set(
            secret,
            new Set([...command.matchAll(/--from-literal=([A-Z_]+)=/g)].map((k) => k[1] as string)),
          );
      }
      const tls = /create secret tls ([a-z0-9-]+)/.exec(section)?.[1];

      const needed = new Map<string, Set<string>>();
      for (const o of [...all(objects, "Deployment"), ...all(objects, "StatefulSet")]) {
        const { secrets, configMaps } = references(o);
        for (const cm of configMaps)
          expect(() => named(objects, "ConfigMap", cm), `${o.metadata.name}: ${cm}`).not.toThrow();
        for (const [secret, keys] of secrets)
          needed.set(secret, new Set([...(needed.get(secret) ?? []), ...keys]));
      }
      if (overlay === "development") {
        for (const [secret, keys] of needed) {
          const rendered = Object.keys(named(objects, "Secret", secret).data);
          for (const key of keys) expect(rendered, `${secret}`).toContain(key);
        }
      } else {
        expect(all(objects, "Secret")).toEqual([]);
        expect([...created.keys()].sort()).toEqual([...needed.keys()].sort());
        for (const [secret, keys] of needed) expect(created.get(secret), secret).toEqual(keys);
        expect(tls).toBe(all(objects, "Ingress")[0].spec.tls[0].secretName);
        const images = new Set(
          all(objects, "Deployment").map((d) => d.spec.template.spec.containers[0].image),
        );
        expect([...images]).toHaveLength(1);
        expect(section).toContain(`docker build -t ${[...images][0]} .`);
      }
    });
  });

  it("the base's placeholder secrets are refused by every service at start-up (fail closed)", () => {
    const objects = render("base");
    const deployments = all(objects, "Deployment");
    expect(deployments).toHaveLength(SERVICE_NAMES.length);
    for (const d of deployments) {
      const read = (path: string) => {
        const { secret, key } = secretFileOf(d, path);
        return named(objects, "Secret", secret).stringData[key];
      };
      expect(() => containerConfig(objects, d, read), d.metadata.name).toThrow(/invalid configuration/);
    }
  });
});
