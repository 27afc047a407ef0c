import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CONSUMERS, DATABASE_SERVICES, natsRoles, SERVICE_NAMES, SERVICES } from "@hookstream/contracts";
import { describe, expect, it } from "vitest";
import { parse, parseAllDocuments } from "yaml";
import { productionNodeFlags } from "../../scripts/serviceFlags";

/**
 * deploy/ checked without a cluster: every kustomize overlay builds, every object
 * validates against the Kubernetes and KEDA schemas (kubernetes-models,
 * @kubernetes-models/keda), the rules a platform team checks hold for every
 * Deployment, and the NATS Helm values use only keys the chart documents.
 */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const K8S = join(ROOT, "deploy", "k8s");
const OVERLAYS = readdirSync(join(K8S, "overlays"));
/**
 * The durables that carry the system's work, from the catalog: replay and advisory
 * durables see traffic only when someone replays or a handler dies, so they do not scale pods.
 */
const DURABLES = Object.entries(CONSUMERS)
  .filter(([, spec]) => spec.kind !== "replays" && spec.kind !== "advisories")
  .map(([name]) => name);

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  // biome-ignore lint/suspicious/noExplicitAny: manifests are free-form YAML, checked by the schemas below
  spec?: any;
  data?: Record<string, string>;
}

function kustomize(dir: string): K8sObject[] {
  try {
    execFileSync("kubectl", ["version", "--client"], { stdio: "ignore" });
  } catch {
    throw new Error(
      "kubectl is not installed: the manifests test needs `kubectl kustomize` (client only, no cluster). " +
        "Install kubectl (e.g. the `kubectl` apt package) and run again.",
    );
  }
  const out = execFileSync("kubectl", ["kustomize", dir], { encoding: "utf8" });
  return parseAllDocuments(out).map((d) => d.toJSON() as K8sObject);
}

/** The kubernetes-models class for an object: `apps/v1` + `Deployment` → kubernetes-models/apps/v1/Deployment. */
async function modelFor(obj: K8sObject): Promise<new (data: unknown) => { validate(): void }> {
  const [group, version] = obj.apiVersion.includes("/") ? obj.apiVersion.split("/") : ["", obj.apiVersion];
  const path =
    group === "keda.sh"
      ? `@kubernetes-models/keda/keda.sh/${version}/${obj.kind}`
      : `kubernetes-models/${group ? `${group}/` : ""}${version}/${obj.kind}`;
  const mod = (await import(path)) as Record<string, new (data: unknown) => { validate(): void }>;
  const model = mod[obj.kind];
  if (!model) throw new Error(`no schema for ${obj.apiVersion} ${obj.kind}`);
  return model;
}

const accounts = readFileSync(join(ROOT, "deploy", "nats", "accounts.conf"), "utf8");

/** The publish rights of one user of accounts.conf: its block up to its subscribe rights. */
function publishRightsOf(user: string): string {
  const at = accounts.indexOf(`user: ${user}\n`);
  if (at < 0) throw new Error(`no user ${user} in deploy/nats/accounts.conf`);
  const block = accounts.slice(at);
  return block.slice(0, block.indexOf("subscribe:"));
}

/** What only the provisioning step (the `admin` user) may do to a stream, a KV bucket's included. */
const STREAM_CHANGES = /STREAM\.(CREATE|UPDATE|DELETE|PURGE)\b/;

const natsValues = parse(readFileSync(join(ROOT, "deploy", "nats", "values.yaml"), "utf8")) as Record<
  string,
  unknown
>;

describe("deploy/nats/accounts.conf", () => {
  const serviceUsers = natsRoles().filter((r) => r.service !== undefined);

  it("gives no long-running service's user STREAM.CREATE, UPDATE, DELETE or PURGE", () => {
    expect(serviceUsers.map((r) => r.service).sort()).toEqual([...SERVICE_NAMES].sort());
    for (const { user } of serviceUsers) {
      const rights = publishRightsOf(user);
      expect(rights, user).toContain('"$JS.API.INFO"');
      expect(rights, `${user} in accounts.conf`).not.toMatch(STREAM_CHANGES);
      // a wildcard would hold them too
      expect(rights, `${user} in accounts.conf`).not.toMatch(/"\$JS\.API\.(>|STREAM\.>|STREAM\.\*)/);
    }
  });

  it("gives the audit writer's user no MSG.DELETE", () => {
    const audit = SERVICES.audit.nats.user;
    expect(publishRightsOf(audit)).not.toMatch(/MSG\.DELETE/);
    // the right exists in the file (the admin service's), so the check can fail
    expect(publishRightsOf(SERVICES.admin.nats.user)).toMatch(/MSG\.DELETE/);
  });
});
describe.each(OVERLAYS)("deploy/k8s/overlays/%s", (overlay) => {
  const objects = kustomize(join(K8S, "overlays", overlay));
  const ofKind = (kind: string) => objects.filter((o) => o.kind === kind);
  const deployments = ofKind("Deployment");
  const config = ofKind("ConfigMap").find((c) => c.metadata.name.startsWith("hookstream"));

  it("builds with kustomize into a namespace, with no Secret committed", () => {
    // one per service of the catalog
    expect(deployments.map((d) => d.metadata.name).sort()).toEqual(
      SERVICE_NAMES.map((s) => `hookstream-${s}`).sort(),
    );
    expect(objects.every((o) => o.metadata.namespace || o.kind === "Namespace")).toBe(true);
    expect(ofKind("Secret")).toEqual([]);
  });

  it.each(objects.map((o) => [`${o.kind} ${o.metadata.name}`, o] as const))(
    "%s validates against its schema",
    async (_name, obj) => {
      const Model = await modelFor(obj);
      expect(() => new Model(obj).validate()).not.toThrow();
    },
  );

  it("runs every service non-root, read-only, without privileges, with probes and a graceful stop", () => {
    const shutdownMs = Number(config?.data?.SHUTDOWN_TIMEOUT_MS);
    expect(shutdownMs).toBeGreaterThan(0);
    for (const d of deployments) {
      const pod = d.spec.template.spec;
      const [c] = pod.containers;
      const where = d.metadata.name;
      expect(pod.securityContext.runAsNonRoot, where).toBe(true);
      expect(c.securityContext, where).toMatchObject({
        runAsNonRoot: true,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ["ALL"] },
      });
      expect(c.startupProbe && c.readinessProbe && c.livenessProbe, where).toBeTruthy();
      expect(c.readinessProbe.httpGet.path, where).toBe("/readyz");
      const preStopSec = Number(c.lifecycle.preStop.exec.command.at(-1));
      expect(pod.terminationGracePeriodSeconds, where).toBeGreaterThan(preStopSec + shutdownMs / 1000);
      expect(c.resources.requests.memory && c.resources.limits.memory, where).toBeTruthy();
      expect(c.image, where).toMatch(/:[0-9][\w.-]*(@sha256:[a-f0-9]+)?$/);
      // the service's production node flags (scripts/serviceFlags.ts), as the benchmarks run it
      expect(c.command, where).toEqual([
        "node",
        ...productionNodeFlags(c.name),
        `services/${c.name}/dist/main.js`,
      ]);
      expect(pod.topologySpreadConstraints?.length, where).toBeGreaterThan(0);
      expect(d.spec.replicas, `${where}: the autoscaler owns replicas`).toBeUndefined();
    }
  });

  it("gives every Deployment a PodDisruptionBudget and an autoscaler", () => {
    const names = deployments.map((d) => d.metadata.name).sort();
    expect(
      ofKind("PodDisruptionBudget")
        .map((p) => p.metadata.name)
        .sort(),
    ).toEqual(names);
    const scaled = [
      ...ofKind("HorizontalPodAutoscaler").map((h) => h.spec.scaleTargetRef.name),
      ...ofKind("ScaledObject").map((s) => s.spec.scaleTargetRef.name),
    ].sort();
    expect(scaled).toEqual(names);
  });

  it("scales each consumer on its durables' lag, every durable of the system covered", () => {
    const triggers = ofKind("ScaledObject").flatMap((s) => {
      expect(s.spec.minReplicaCount).toBeGreaterThan(0);
      expect(s.spec.maxReplicaCount).toBeGreaterThanOrEqual(s.spec.minReplicaCount);
      expect(s.spec.cooldownPeriod).toBeGreaterThan(0);
      return s.spec.scaleTargetRef.name === "hookstream-delivery" ? [] : s.spec.triggers;
    });
    expect(triggers.every((t: { type: string }) => t.type === "nats-jetstream")).toBe(true);
    expect(triggers.map((t: { metadata: { consumer: string } }) => t.metadata.consumer).sort()).toEqual(
      [...DURABLES].sort(),
    );
    expect(
      triggers.every((t: { metadata: { account: string } }) => t.metadata.account === "HOOKSTREAM"),
    ).toBe(true);
  });

  it("scales the delivery service on its destinations' pending count (Prometheus) and on CPU", () => {
    // its durables come from DESTINATIONS, which the manifests do not know
    const delivery = ofKind("ScaledObject").find((s) => s.spec.scaleTargetRef.name === "hookstream-delivery");
    const triggers = (delivery?.spec.triggers ?? []) as Array<{
      type: string;
      metadata: Record<string, string>;
    }>;
    expect(triggers.map((t) => t.type).sort()).toEqual(["cpu", "prometheus"]);
    const prometheus = triggers.find((t) => t.type === "prometheus");
    expect(prometheus?.metadata.query).toContain("hookstream_destination_pending");
    expect(prometheus?.metadata.query).toContain('part_of="hookstream"');
    expect(Number(prometheus?.metadata.threshold)).toBeGreaterThan(0);
    expect(prometheus?.metadata.serverAddress).toMatch(/^https?:\/\//);
  });

  it("migrates in one Job while the Deployments skip migrations", () => {
    expect(config?.data?.MIGRATIONS).toBe("skip");
    const job = ofKind("Job").find((j) => j.metadata.name.endsWith("hookstream-migrate"));
    const env = job?.spec.template.spec.containers[0].env as { name: string; value?: string }[];
    expect(env.find((e) => e.name === "MIGRATIONS")?.value).toBe("only");
    // every service with a database, so none is left unmigrated while its pods skip migrations
    const script = String(job?.spec.template.spec.containers[0].command.at(-1));
    expect(script).toContain(`for s in ${DATABASE_SERVICES.join(" ")};`);
  });

  it("provisions the streams in one Job as the admin NATS user, while no service's user may", () => {
    const job = ofKind("Job").find((j) => j.metadata.name.endsWith("hookstream-provision"));
    const [c] = job?.spec.template.spec.containers ?? [];
    expect(c.command).toEqual(["node", "packages/cli/bin/hookstream.js", "provision"]);
    const env = c.env as { name: string; value?: string }[];
    expect(env.find((e) => e.name === "NATS_USER")?.value).toBe("admin");
    expect(c.envFrom).toEqual([{ configMapRef: { name: config?.metadata.name } }]);
    for (const d of deployments) {
      const user = d.spec.template.spec.containers[0].env.find(
        (e: { name: string }) => e.name === "NATS_USER",
      )?.value as string;
      // the event streams and the KV buckets are the provisioning step's alone
      expect(publishRightsOf(user), `${user} in accounts.conf`).not.toMatch(STREAM_CHANGES);
    }
  });

  it("logs each service in to NATS as a user of deploy/nats/accounts.conf with that user's inbox", () => {
    const helmEnv = (natsValues.container as { env: Record<string, unknown> }).env;
    for (const d of deployments) {
      const env = d.spec.template.spec.containers[0].env as { name: string; value?: string }[];
      const user = env.find((e) => e.name === "NATS_USER")?.value ?? "";
      expect(accounts, d.metadata.name).toContain(`user: ${user}\n`);
      expect(accounts, d.metadata.name).toContain(`"_INBOX_${user}.>"`);
      expect(env.find((e) => e.name === "NATS_INBOX_PREFIX")?.value).toBe(`_INBOX_${user}`);
      const passwordVar = `HOOKSTREAM_NATS_${user.toUpperCase().replaceAll("-", "_")}_PASSWORD`;
      expect(accounts).toContain(`$${passwordVar}`);
      expect(helmEnv, `${passwordVar} in deploy/nats/values.yaml`).toHaveProperty([passwordVar]);
    }
  });

  it("exposes only /webhooks/ of the gateway through the Ingress", () => {
    const [ingress] = ofKind("Ingress");
    const paths = ingress?.spec.rules.flatMap((r: { http: { paths: { path: string }[] } }) =>
      r.http.paths.map((p) => p.path),
    );
    expect(paths).toEqual(["/webhooks/"]);
  });
});

describe("deploy/nats/values.yaml", () => {
  const fixture = readFileSync(
    join(ROOT, "tests", "deploy", "fixtures", "nats-chart-2.14.2-keys.tsv"),
    "utf8",
  );
  const documented = new Map(
    fixture
      .split("\n")
      .filter((l) => l && !l.startsWith("#"))
      .map((l) => l.split("\t") as [string, string]),
  );

  it("uses only keys the NATS chart documents (free-form maps such as merge and env excepted)", () => {
    const unknown: string[] = [];
    const walk = (node: unknown, path: string) => {
      if (node === null || typeof node !== "object" || Array.isArray(node)) return;
      for (const [key, value] of Object.entries(node)) {
        const p = path ? `${path}.${key}` : key;
        const shape = documented.get(p);
        if (shape === undefined) unknown.push(p);
        else if (shape === ".") walk(value, p);
      }
    };
    walk(natsValues, "");
    expect(unknown).toEqual([]);
  });

  it("runs a 3-node cluster with JetStream on persistent volumes and the monitoring port on", () => {
    expect(natsValues).toMatchObject({
      config: {
        cluster: { enabled: true, replicas: 3 },
        jetstream: { enabled: true, fileStore: { enabled: true, pvc: { enabled: true } } },
        monitor: { enabled: true, port: 8222 },
      },
    });
  });
});

describe("docker-compose.yml", () => {
  const compose = parse(readFileSync(join(ROOT, "docker-compose.yml"), "utf8"), { merge: true }) as {
    services: Record<string, { command?: string[]; environment?: Record<string, string> }>;
  };

  it("runs compiled services that exist and refuses to start without the webhook secret and admin token", () => {
    const app = Object.entries(compose.services).filter(([, s]) => s.command?.[0] === "node");
    expect(app.map(([name]) => name).sort()).toEqual([...SERVICE_NAMES].sort());
    for (const [name, s] of app) {
      expect(s.command).toEqual(["node", ...productionNodeFlags(name), `services/${name}/dist/main.js`]);
      expect(existsSync(join(ROOT, "services", name, "src", "main.ts")), name).toBe(true);
      expect(s.environment?.OPENAI_WEBHOOK_SECRET).toMatch(/^\$\{OPENAI_WEBHOOK_SECRET:\?/);
      expect(s.environment?.ADMIN_TOKEN).toMatch(/^\$\{ADMIN_TOKEN:\?/);
    }
  });
});
