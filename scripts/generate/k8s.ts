import {
  CONSUMERS,
  DATABASE_SERVICES,
  SERVICE_NAMES,
  SERVICES,
  type ServiceName,
  type ServiceSpec,
  serviceUrls,
  serviceUrlVar,
} from "@hookstream/contracts";
import { generatedHeader, yamlDocs } from "./text";

/**
 * deploy/k8s/base: one Deployment, PodDisruptionBudget and autoscaler per service of
 * the catalog, a Service for each exposed one, and the migrate Job that migrates every
 * service with a database. The templates are here; what differs by service is data in
 * the catalog (packages/contracts/src/catalog.ts).
 */

const spec = (s: ServiceName): ServiceSpec => SERVICES[s];

/**
 * The end of every pod template (Deployments and the one-shot Jobs): the container runs
 * as the image's non-root user on a read-only root filesystem, with a small writable /tmp.
 */
const HARDENED_CONTAINER_TAIL = `          securityContext:
            runAsNonRoot: true
            runAsUser: 1000
            runAsGroup: 1000
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities:
              drop:
                - ALL
            seccompProfile:
              type: RuntimeDefault
          volumeMounts:
            - name: tmp
              mountPath: /tmp
      volumes:
        - name: tmp
          emptyDir:
            sizeLimit: 64Mi`;

function labels(service: string, pad: string, partOf = false): string {
  const lines = ["app.kubernetes.io/name: hookstream", `app.kubernetes.io/component: ${service}`];
  if (partOf) lines.push("app.kubernetes.io/part-of: hookstream");
  return lines.map((l) => `${pad}${l}`).join("\n");
}

function metadata(kind: string, apiVersion: string, name: string, service: string): string {
  return `apiVersion: ${apiVersion}
kind: ${kind}
metadata:
  name: ${name}
  labels:
${labels(service, "    ")}`;
}

/** The production command of a service: node, its node flags (with why), its compiled main. */
export function productionCommand(s: ServiceName): string[] {
  return ["node", ...(spec(s).deploy.nodeFlags?.flags ?? []), `services/${s}/dist/main.js`];
}

function secretEnv(name: string, optional: boolean | undefined): string {
  return `            - name: ${name}
              valueFrom:
                secretKeyRef:
                  name: hookstream
                  key: ${name}${optional ? "\n                  optional: true" : ""}`;
}

/** Where the other exposed services are: their Services (port 80), as npm start and compose say it. */
function urlEnv(s: ServiceName): string {
  return Object.entries(serviceUrls((o) => `http://hookstream-${o}`))
    .filter(([v]) => v !== serviceUrlVar(spec(s).portVar))
    .map(([v, url]) => `            - name: ${v}\n              value: ${url}\n`)
    .join("");
}

function deployment(s: ServiceName): string {
  const { portVar, defaultPort, nats, deploy } = spec(s);
  const flags = deploy.nodeFlags;
  const command = [
    "            - node",
    ...(flags ? [`            # ${flags.why}`, ...flags.flags.map((f) => `            - ${f}`)] : []),
    `            - services/${s}/dist/main.js`,
  ].join("\n");
  const memory = deploy.memoryLimit ? `${deploy.memoryLimit.value}  # ${deploy.memoryLimit.why}` : "384Mi";
  const spread = (key: string) => `        - maxSkew: 1
          topologyKey: ${key}
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
${labels(s, "              ")}`;
  return `${metadata("Deployment", "apps/v1", `hookstream-${s}`, s)}
spec:
  revisionHistoryLimit: 5
  selector:
    matchLabels:
${labels(s, "      ")}
  strategy:
    type: RollingUpdate
    rollingUpdate:
      maxUnavailable: 0
      maxSurge: 1
  template:
    metadata:
      labels:
${labels(s, "        ", true)}
      annotations:
        prometheus.io/scrape: "true"
        prometheus.io/port: "${defaultPort}"
        prometheus.io/path: /metrics
    spec:
      serviceAccountName: hookstream
      automountServiceAccountToken: false
      terminationGracePeriodSeconds: 30
      securityContext:
        runAsNonRoot: true
        runAsUser: 1000
        runAsGroup: 1000
        fsGroup: 1000
        seccompProfile:
          type: RuntimeDefault
      topologySpreadConstraints:
${spread("topology.kubernetes.io/zone")}
${spread("kubernetes.io/hostname")}
      containers:
        - name: ${s}
          image: hookstream
          imagePullPolicy: IfNotPresent
          command:
${command}
          ports:
            - name: http
              containerPort: ${defaultPort}
              protocol: TCP
          envFrom:
            - configMapRef:
                name: hookstream
          env:
            - name: ${portVar}
              value: "${defaultPort}"
            - name: NATS_USER
              value: ${nats.user}
            - name: NATS_PASSWORD
              valueFrom:
                secretKeyRef:
                  name: hookstream-nats
                  key: ${nats.user}
            - name: NATS_URL
              value: nats://$(NATS_USER):$(NATS_PASSWORD)@nats.nats.svc.cluster.local:4222
            - name: NATS_INBOX_PREFIX
              value: _INBOX_${nats.user}
${urlEnv(s)}${deploy.secrets.map((x) => secretEnv(x.name, x.optional)).join("\n")}
          startupProbe:
            httpGet:
              path: /healthz
              port: http
            periodSeconds: 2
            failureThreshold: 30
            timeoutSeconds: 2
          readinessProbe:
            httpGet:
              path: /readyz
              port: http
            periodSeconds: 5
            failureThreshold: 2
            timeoutSeconds: 2
          livenessProbe:
            httpGet:
              path: /healthz
              port: http
            periodSeconds: 10
            failureThreshold: 3
            timeoutSeconds: 2
          lifecycle:
            preStop:
              exec:
                command:
                  - sleep
                  - "5"
          resources:
            requests:
              cpu: ${deploy.cpuRequest}
              memory: 192Mi
            limits:
              memory: ${memory}
${HARDENED_CONTAINER_TAIL}`;
}

export function deploymentsYaml(): string {
  return `${generatedHeader("#")}
# One Deployment per service, all from the same image; the command picks the service.
# - no \`replicas\`: the gateway's HPA and the consumers' KEDA ScaledObjects own the count
# - resources: compiled services measured idle at 103-127 MiB RSS, the gateway at 141 MiB
#   under load; request 192Mi, limit 384Mi; no CPU limit (throttling stalls acks and
#   heartbeats), CPU requests sized for the HPA (deploy/README.md)
# - terminationGracePeriodSeconds 30 = preStop sleep 5 s (endpoints leave Services and
#   load balancers first) + SHUTDOWN_TIMEOUT_MS 15 s (stop pulling, finish or nak, drain
#   NATS, close Postgres) + 10 s to spare before SIGKILL
# - each service logs in to NATS as its own user (deploy/nats/accounts.conf) with its
#   own inbox prefix; NATS_URL is built from Secret hookstream-nats with $(VAR) expansion
# - MIGRATIONS=skip (ConfigMap): the hookstream-migrate Job migrates once per release
# - pods carry app.kubernetes.io/part-of=hookstream: Prometheus keeps it as the label
#   part_of, which the alerts and the dashboard select on (deploy/README.md)
${yamlDocs(SERVICE_NAMES.map(deployment))}`;
}

export function pdbYaml(): string {
  return `${generatedHeader("#")}
# At most one pod of each service down at a time during voluntary disruptions (node drains).
${yamlDocs(
  SERVICE_NAMES.map(
    (s) => `${metadata("PodDisruptionBudget", "policy/v1", `hookstream-${s}`, s)}
spec:
  maxUnavailable: 1
  selector:
    matchLabels:
${labels(s, "      ")}`,
  ),
)}`;
}

export function hpaYaml(): string {
  const docs = SERVICE_NAMES.flatMap((s) => {
    const scale = spec(s).deploy.scale;
    if (scale.on !== "cpu") return [];
    return [
      `${metadata("HorizontalPodAutoscaler", "autoscaling/v2", `hookstream-${s}`, s)}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: hookstream-${s}
  minReplicas: ${scale.min}
  maxReplicas: ${scale.max}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: ${scale.targetPercent}
  behavior:
    scaleUp:
      stabilizationWindowSeconds: 0
      policies:
        - type: Percent
          value: 100
          periodSeconds: 30
    scaleDown:
      stabilizationWindowSeconds: 300
      policies:
        - type: Pods
          value: 1
          periodSeconds: 60`,
    ];
  });
  return `${generatedHeader("#")}
# The services that scale on CPU (catalog \`deploy.scale.on: "cpu"\`): the gateway is
# stateless and CPU-bound (signature check, JSON, publish).
${yamlDocs(docs)}`;
}

/** The durables that carry the system's work: replay and advisory durables see traffic only when someone replays or a handler dies. */
export function scalingDurables(s: ServiceName): string[] {
  return spec(s).durables.filter((d) => {
    const kind = CONSUMERS[d].kind;
    return kind !== "replays" && kind !== "advisories";
  });
}

/**
 * Where KEDA asks Prometheus (the delivery service's trigger): the Service the Prometheus
 * operator makes for every Prometheus it runs, in namespace `monitoring`; an overlay
 * patches it for another (deploy/README.md).
 */
export const PROMETHEUS_SERVER = "http://prometheus-operated.monitoring.svc.cluster.local:9090";

/**
 * Events the delivery service can work on now: the pending count of each destination
 * (every instance exports the same gauge: max, not sum) that is active. A paused or
 * open destination's backlog waits for a resume or a probe, which no extra pod speeds up.
 */
export const DELIVERY_PENDING_QUERY =
  'sum(max by (destination) (hookstream_destination_pending{part_of="hookstream"}) * on (destination) max by (destination) (hookstream_destination_state{part_of="hookstream",state="active"}))';

function triggersOf(s: ServiceName, streamName: (durable: string) => string): string[] {
  const scale = spec(s).deploy.scale;
  switch (scale.on) {
    case "cpu":
      return [];
    case "lag":
      return scalingDurables(s).map(
        (d) => `    - type: nats-jetstream
      metadata:
        natsServerMonitoringEndpoint: nats-headless.nats.svc.cluster.local:8222
        account: HOOKSTREAM
        stream: ${streamName(d)}
        consumer: ${d}
        lagThreshold: "${scale.lagThreshold}"
        activationLagThreshold: "0"
        useHttps: "false"`,
      );
    case "pending":
      return [
        `    - type: prometheus
      metadata:
        serverAddress: ${PROMETHEUS_SERVER}
        query: '${DELIVERY_PENDING_QUERY}'
        threshold: "${scale.pendingPerReplica}"
        activationThreshold: "0"
        ignoreNullValues: "true"`,
        `    - type: cpu
      metricType: Utilization
      metadata:
        value: "${scale.targetPercent}"`,
      ];
    default: {
      const exhaustive: never = scale;
      return exhaustive;
    }
  }
}

export function kedaYaml(streamName: (durable: string) => string): string {
  const docs = SERVICE_NAMES.flatMap((s) => {
    const scale = spec(s).deploy.scale;
    if (scale.on === "cpu") return [];
    const triggers = triggersOf(s, streamName);
    return [
      `${metadata("ScaledObject", "keda.sh/v1alpha1", `hookstream-${s}`, s)}
spec:
  scaleTargetRef:
    name: hookstream-${s}
  pollingInterval: 15
  cooldownPeriod: 300
  minReplicaCount: ${scale.min}
  maxReplicaCount: ${scale.max}
  advanced:
    horizontalPodAutoscalerConfig:
      behavior:
        scaleUp:
          stabilizationWindowSeconds: 0
          policies:
            - type: Pods
              value: 2
              periodSeconds: 30
        scaleDown:
          stabilizationWindowSeconds: 300
          policies:
            - type: Pods
              value: 1
              periodSeconds: 60
  triggers:
${triggers.join("\n")}`,
    ];
  });
  return `${generatedHeader("#")}
# KEDA: each consuming service scales on its durable consumers' lag (messages pending);
# replay and advisory durables carry no steady work and do not scale pods. The delivery
# service, whose durables come from DESTINATIONS, scales on its active destinations'
# pending count as Prometheus has it, and on CPU; its Prometheus is
# ${PROMETHEUS_SERVER} (an overlay patches another). Numbers: deploy/README.md.
${yamlDocs(docs)}`;
}

export function servicesYaml(): string {
  const exposed = SERVICE_NAMES.filter((s) => spec(s).deploy.exposed);
  return `${generatedHeader("#")}
# A Service for each service others call (catalog \`deploy.exposed\`): ${exposed.join(", ")}
${yamlDocs(
  exposed.map(
    (s) => `${metadata("Service", "v1", `hookstream-${s}`, s)}
spec:
  type: ClusterIP
  selector:
${labels(s, "    ")}
  ports:
    - name: http
      port: 80
      targetPort: http
      protocol: TCP`,
  ),
)}`;
}

export function migrateJobYaml(): string {
  return `${generatedHeader("#")}
# Schema migrations once per release, before the Deployments roll (deploy/README.md):
# the Deployments run with MIGRATIONS=skip, so pods never race to migrate. It runs
# every service with a database (catalog \`database: true\`) with MIGRATIONS=only.
# Self-contained (only Secret hookstream, DATABASE_URL), so it runs before anything else.
# A Job is immutable: delete the finished one before applying a new release's.
apiVersion: batch/v1
kind: Job
metadata:
  name: hookstream-migrate
  labels:
${labels("migrate", "    ")}
spec:
  backoffLimit: 3
  activeDeadlineSeconds: 600
  ttlSecondsAfterFinished: 86400
  template:
    metadata:
      labels:
${labels("migrate", "        ")}
    spec:
      restartPolicy: Never
      automountServiceAccountToken: false
      securityContext:
        runAsNonRoot: true
        runAsUser: 1000
        runAsGroup: 1000
        fsGroup: 1000
        seccompProfile:
          type: RuntimeDefault
      containers:
        - name: migrate
          image: hookstream
          imagePullPolicy: IfNotPresent
          command:
            - sh
            - -c
            - set -e; for s in ${DATABASE_SERVICES.join(" ")}; do echo "migrating $s"; node services/$s/dist/main.js; done
          env:
            - name: MIGRATIONS
              value: only
            - name: LOG_LEVEL
              value: info
            - name: NODE_OPTIONS
              value: --enable-source-maps
            - name: DATABASE_URL
              valueFrom:
                secretKeyRef:
                  name: hookstream
                  key: DATABASE_URL
          resources:
            requests:
              cpu: 100m
              memory: 192Mi
            limits:
              memory: 384Mi
${HARDENED_CONTAINER_TAIL}
`;
}
