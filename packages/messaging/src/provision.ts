import type { BucketKey, Topology } from "@hookstream/contracts";
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiError,
  type JetStreamClient,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
  type StreamInfo,
} from "@nats-io/jetstream";
import { type KV, Kvm, type KvOptions } from "@nats-io/kv";
import { nanos } from "@nats-io/transport-node";

/** JetStream API error code: "stream name already in use with a different configuration". */
const STREAM_NAME_IN_USE = 10058;

export interface StreamOptions {
  replicas: number;
  /** how long a message id is remembered for dedup (default 2 h) */
  duplicateWindowMs: number;
  /** how long WEBHOOKS keeps messages (default 30 days) */
  maxAgeMs: number;
  /** WEBHOOK_OUTCOMES, WEBHOOK_REPLAYS, WEBHOOK_ADVISORIES, WEBHOOK_DELIVERIES and NOTIFICATIONS (default 30 days) */
  outcomesMaxAgeMs: number;
  /** WEBHOOK_DLQ (default 90 days: dead letters wait for a person) */
  dlqMaxAgeMs: number;
  /** FINE_TUNING (default 0 = forever: the projection is rebuilt from it) */
  fineTuningMaxAgeMs: number;
  /** FINE_TUNING keeps at most this many snapshots per job (default 100; -1 = no limit) */
  fineTuningMaxPerJob: number;
  /** REPLAY_LOCKS' max age: an unrenewed bulk-replay lock is gone this long after its last renewal (default 30 s) */
  replayLockTtlMs: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export const DEFAULT_STREAM_OPTIONS: StreamOptions = {
  replicas: 1,
  duplicateWindowMs: 2 * 60 * 60 * 1000,
  maxAgeMs: 30 * DAY_MS,
  outcomesMaxAgeMs: 30 * DAY_MS,
  dlqMaxAgeMs: 90 * DAY_MS,
  fineTuningMaxAgeMs: 0,
  fineTuningMaxPerJob: 100,
  replayLockTtlMs: 30_000,
};

/**
 * The stream settings from the environment every service parses (`streamEnv` in
 * @hookstream/config): one source, so no service provisions with other values.
 */
export function streamOptionsFromEnv(config: {
  STREAM_REPLICAS: number;
  WEBHOOK_DUPLICATE_WINDOW_MS: number;
  WEBHOOK_MAX_AGE_MS: number;
  OUTCOMES_MAX_AGE_MS: number;
  DLQ_MAX_AGE_MS: number;
  FINE_TUNING_MAX_AGE_MS: number;
  FINE_TUNING_MAX_PER_JOB: number;
  REPLAY_LOCK_TTL_MS: number;
}): StreamOptions {
  return {
    replicas: config.STREAM_REPLICAS,
    duplicateWindowMs: config.WEBHOOK_DUPLICATE_WINDOW_MS,
    maxAgeMs: config.WEBHOOK_MAX_AGE_MS,
    outcomesMaxAgeMs: config.OUTCOMES_MAX_AGE_MS,
    dlqMaxAgeMs: config.DLQ_MAX_AGE_MS,
    fineTuningMaxAgeMs: config.FINE_TUNING_MAX_AGE_MS,
    fineTuningMaxPerJob: config.FINE_TUNING_MAX_PER_JOB,
    replayLockTtlMs: config.REPLAY_LOCK_TTL_MS,
  };
}

type StreamSpec = Pick<StreamConfig, "name" | "subjects" | "duplicate_window" | "max_age" | "num_replicas"> &
  Partial<StreamConfig>;

/** Every stream of the system, from one topology and one set of options. */
export function streamSpecs(topology: Topology, opts: StreamOptions): StreamSpec[] {
  const common = {
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    discard: DiscardPolicy.Old,
    num_replicas: opts.replicas,
    duplicate_window: nanos(opts.duplicateWindowMs),
    max_msgs_per_subject: -1,
  };
  // JetStream requires duplicate_window <= max_age when a max age is set
  const ageOf = (ms: number) => (ms > 0 ? nanos(Math.max(ms, opts.duplicateWindowMs)) : 0);
  return [
    {
      ...common,
      name: topology.streams.webhooks,
      subjects: [topology.subjects.webhooksAll],
      max_age: ageOf(opts.maxAgeMs),
    },
    {
      ...common,
      name: topology.streams.fineTuning,
      subjects: [`${topology.subjects.fineTuningPrefix}.>`],
      max_age: ageOf(opts.fineTuningMaxAgeMs),
      max_msgs_per_subject: opts.fineTuningMaxPerJob,
    },
    {
      ...common,
      name: topology.streams.outcomes,
      subjects: [`${topology.subjects.outcomesPrefix}.>`],
      max_age: ageOf(opts.outcomesMaxAgeMs),
    },
    {
      ...common,
      name: topology.streams.dlq,
      subjects: [`${topology.subjects.dlqPrefix}.>`],
      max_age: ageOf(opts.dlqMaxAgeMs),
    },
    {
      ...common,
      name: topology.streams.replays,
      subjects: [`${topology.subjects.replaysPrefix}.>`],
      max_age: ageOf(opts.outcomesMaxAgeMs),
    },
    // Advisories are core messages, lost unless captured: a handler that dies on its
    // last delivery is only noticed through MAX_DELIVERIES, so a stream keeps them.
    {
      ...common,
      name: topology.streams.advisories,
      subjects: [
        `${topology.subjects.maxDeliveriesAdvisory}.>`,
        `${topology.subjects.maxDeliveriesReplayAdvisory}.>`,
      ],
      max_age: ageOf(opts.outcomesMaxAgeMs),
    },
    // one record per outbound notification attempt, kept as long as the outcomes
    {
      ...common,
      name: topology.streams.deliveries,
      subjects: [`${topology.subjects.deliveriesPrefix}.>`],
      max_age: ageOf(opts.outcomesMaxAgeMs),
    },
    // the handlers' notifications, read by the delivery service (one durable per destination);
    // dedup by event id over the same window, kept as long as the outcomes
    {
      ...common,
      name: topology.streams.notifications,
      subjects: [`${topology.subjects.notificationsPrefix}.>`],
      max_age: ageOf(opts.outcomesMaxAgeMs),
    },
  ];
}

/** The stream behind a KV bucket: `KV_<bucket>` (the KV convention). */
export function bucketStream(bucket: string): string {
  return `KV_${bucket}`;
}

/**
 * The KV options of a bucket of the system, from the one set of stream options.
 * REPLAY_LOCKS has a max age: it is what ends the lock of an admin instance that died
 * (nats-server 2.9 has no per-message TTL; a bucket's max age works there).
 */
function bucketOptions(opts: StreamOptions, key: BucketKey): Partial<KvOptions> & { ttl?: number } {
  return {
    history: 1,
    replicas: opts.replicas,
    storage: StorageType.File,
    ...(key === "replayLocks" ? { ttl: opts.replayLockTtlMs } : {}),
  };
}

export interface EnsureBucketsOptions {
  /**
   * `create`: create the bucket when missing (a developer machine); `verify`
   * (production): never create it, wait until the provisioning step has (a
   * long-running service's NATS user may not create a stream, a bucket's included)
   */
  mode: "create" | "verify";
  /** told, at most every 30 s, while a bucket is missing in `verify` mode */
  onMissing?: (stream: string) => void;
  /** how often a missing bucket is looked for again (default 1 s) */
  pollMs?: number;
  /** which bucket (default `deliveryState`) */
  bucket?: BucketKey;
}

/**
 * The KV buckets of the system: DELIVERY_STATE holds each destination's breaker and
 * pause (one key per destination, the last value only), shared by every delivery
 * instance; REPLAY_LOCKS one key per handler while a bulk replay to it runs, shared by
 * every admin instance. The provisioning step creates them (provisionStreams); a service
 * opens its bucket, and creates it only outside `verify` mode. `Kvm.create` on a bucket
 * that exists reads its info only (no STREAM.CREATE), and takes its direct-get setting from it.
 */
export async function ensureBuckets(
  js: JetStreamClient,
  topology: Topology,
  opts: StreamOptions,
  ensure: EnsureBucketsOptions = { mode: "create" },
): Promise<KV> {
  const key = ensure.bucket ?? "deliveryState";
  const bucket = topology.buckets[key];
  if (ensure.mode === "verify") {
    const jsm = await js.jetstreamManager();
    let said = 0;
    for (;;) {
      const found = await jsm.streams.info(bucketStream(bucket)).then(
        () => true,
        (err: unknown) => {
          if (err instanceof JetStreamApiError && err.status === 404) return false;
          throw err;
        },
      );
      if (found) break;
      if (Date.now() - said > 30_000) {
        said = Date.now();
        ensure.onMissing?.(bucketStream(bucket));
      }
      await new Promise((r) => setTimeout(r, ensure.pollMs ?? 1_000));
    }
  }
  return new Kvm(js).create(bucket, bucketOptions(opts, key));
}

/**
 * The provisioning step's part for the KV buckets: creates a missing one with the
 * settings, brings the replicas (STREAM_REPLICAS) and max age (REPLAY_LOCK_TTL_MS) of
 * an existing one to them.
 */
async function provisionBuckets(
  jsm: JetStreamManager,
  topology: Topology,
  opts: StreamOptions,
): Promise<ProvisionResult[]> {
  const results: ProvisionResult[] = [];
  for (const key of Object.keys(topology.buckets) as BucketKey[]) {
    const bucket = topology.buckets[key];
    const name = bucketStream(bucket);
    const info = await jsm.streams.info(name).catch((err: unknown) => {
      if (err instanceof JetStreamApiError && err.status === 404) return null;
      throw err;
    });
    const wanted = bucketOptions(opts, key);
    if (info === null) {
      await new Kvm(jsm.jetstream()).create(bucket, wanted);
      results.push({ stream: name, action: "created", diff: {} });
      continue;
    }
    const maxAge = wanted.ttl !== undefined ? nanos(wanted.ttl) : info.config.max_age;
    const diff: ProvisionResult["diff"] = {};
    if (info.config.num_replicas !== wanted.replicas)
      diff.num_replicas = { live: info.config.num_replicas, wanted: wanted.replicas };
    if (info.config.max_msgs_per_subject !== wanted.history)
      diff.max_msgs_per_subject = { live: info.config.max_msgs_per_subject, wanted: wanted.history };
    if (info.config.max_age !== maxAge) diff.max_age = { live: info.config.max_age, wanted: maxAge };
    if (Object.keys(diff).length > 0) {
      await jsm.streams.update(name, {
        ...info.config,
        num_replicas: wanted.replicas,
        max_msgs_per_subject: wanted.history,
        max_age: maxAge,
      });
    }
    results.push({ stream: name, action: Object.keys(diff).length > 0 ? "updated" : "unchanged", diff });
  }
  return results;
}

const COMPARED = ["duplicate_window", "max_age", "num_replicas", "subjects", "max_msgs_per_subject"] as const;

/** The settings in which a live stream differs from the spec, `{ setting: { live, wanted } }`. */
export function streamDifferences(
  info: StreamInfo,
  spec: StreamSpec,
): Record<string, { live: unknown; wanted: unknown }> {
  const out: Record<string, { live: unknown; wanted: unknown }> = {};
  for (const key of COMPARED) {
    const live = info.config[key];
    const wanted = spec[key];
    if (wanted === undefined) continue;
    if (JSON.stringify(live) !== JSON.stringify(wanted)) out[key] = { live, wanted };
  }
  return out;
}

export interface EnsureStreamOptions {
  /**
   * `update`: bring a differing stream to the spec (the stream owner, the gateway);
   * `create`: create it when missing, never change it (every other service), so that a
   * consumer started with other settings cannot narrow retention.
   */
  mode: "create" | "update";
  /** told about every change made, and every difference left alone */
  onDifference?: (
    stream: string,
    diff: Record<string, { live: unknown; wanted: unknown }>,
    changed: boolean,
  ) => void;
}

/**
 * Creates the stream or, in `update` mode, brings its settings up to date. Safe when
 * several instances start at once: whoever loses the race to create it looks again.
 */
export async function ensureStream(
  jsm: JetStreamManager,
  spec: StreamSpec,
  opts: EnsureStreamOptions = { mode: "update" },
): Promise<StreamInfo> {
  for (let attempt = 0; ; attempt++) {
    let info: StreamInfo | null = null;
    try {
      info = await jsm.streams.info(spec.name);
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.status === 404)) throw err;
    }
    try {
      if (info === null) return await jsm.streams.add(spec);
      const diff = streamDifferences(info, spec);
      if (Object.keys(diff).length === 0) return info;
      if (opts.mode === "create") {
        opts.onDifference?.(spec.name, diff, false);
        return info;
      }
      const { name: _name, ...update } = spec;
      const updated = await jsm.streams.update(spec.name, { ...info.config, ...update });
      opts.onDifference?.(spec.name, diff, true);
      return updated;
    } catch (err) {
      // 10058: stream name already in use — another instance created it between our info and add.
      if (attempt < 3 && err instanceof JetStreamApiError && err.code === STREAM_NAME_IN_USE) continue;
      throw err;
    }
  }
}

export async function ensureStreams(
  jsm: JetStreamManager,
  topology: Topology,
  opts: StreamOptions,
  ensure: EnsureStreamOptions = { mode: "update" },
): Promise<void> {
  for (const spec of streamSpecs(topology, opts)) await ensureStream(jsm, spec, ensure);
}

export interface ConsumerSpec {
  stream: string;
  durable: string;
  filterSubject?: string;
  maxDeliver: number;
  ackWaitMs: number;
  /** messages delivered and not yet acked, across all instances */
  maxAckPending?: number;
  deliverPolicy?: DeliverPolicy;
}

/**
 * Creates or updates a durable pull consumer. Every instance of a service calls
 * this with the same name and so binds to the same consumer and shares its work.
 * No `backoff` list: on 2.9 it only applies to ack timeouts (docs/architecture.md, platform notes); nak delays
 * are computed by decideAck.
 */
export async function ensureConsumer(jsm: JetStreamManager, spec: ConsumerSpec): Promise<void> {
  const config = {
    durable_name: spec.durable,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: spec.deliverPolicy ?? DeliverPolicy.All,
    max_deliver: spec.maxDeliver,
    ack_wait: nanos(spec.ackWaitMs),
    max_ack_pending: spec.maxAckPending ?? 1000,
    ...(spec.filterSubject ? { filter_subject: spec.filterSubject } : {}),
  };
  for (let attempt = 0; ; attempt++) {
    try {
      const info = await jsm.consumers.info(spec.stream, spec.durable).catch((err) => {
        if (err instanceof JetStreamApiError && err.status === 404) return null;
        throw err;
      });
      if (info === null) {
        await jsm.consumers.add(spec.stream, config);
      } else if (
        info.config.max_deliver !== config.max_deliver ||
        info.config.ack_wait !== config.ack_wait ||
        info.config.max_ack_pending !== config.max_ack_pending ||
        (info.config.filter_subject ?? "") !== (spec.filterSubject ?? "")
      ) {
        const { durable_name: _d, deliver_policy: _p, ...update } = config;
        await jsm.consumers.update(spec.stream, spec.durable, update);
      }
      return;
    } catch (err) {
      // another instance created it at the same moment: look again
      if (attempt < 3 && err instanceof JetStreamApiError) continue;
      throw err;
    }
  }
}

/** The environment variable behind each compared setting of a stream (what to change to fix a difference). */
export function settingVariable(topology: Topology, stream: string, setting: string): string {
  switch (setting) {
    case "duplicate_window":
      return "WEBHOOK_DUPLICATE_WINDOW_MS";
    case "num_replicas":
      return "STREAM_REPLICAS";
    case "max_msgs_per_subject":
      return "FINE_TUNING_MAX_PER_JOB";
    case "subjects":
      return "HOOKSTREAM_NAMESPACE";
    case "max_age":
      if (stream === topology.streams.webhooks) return "WEBHOOK_MAX_AGE_MS";
      if (stream === topology.streams.fineTuning) return "FINE_TUNING_MAX_AGE_MS";
      if (stream === topology.streams.dlq) return "DLQ_MAX_AGE_MS";
      return "OUTCOMES_MAX_AGE_MS";
    default:
      return setting;
  }
}

/** A stream that is not as the configuration gives it: missing, or with settings that differ. */
export interface StreamProblem {
  stream: string;
  missing: boolean;
  diff: Record<string, { live: unknown; wanted: unknown }>;
}

/** One line an operator can act on: the stream, each differing setting with its variable, and the fix. */
export function describeStreamProblem(topology: Topology, p: StreamProblem): string {
  if (p.missing) return `stream ${p.stream} is missing: run the provisioning step (hookstream provision)`;
  const settings = Object.entries(p.diff).map(
    ([k, v]) =>
      `${k} (${settingVariable(topology, p.stream, k)}) is ${JSON.stringify(v.live)}, the configuration gives ${JSON.stringify(v.wanted)}`,
  );
  return `stream ${p.stream} differs: ${settings.join("; ")}; run the provisioning step (hookstream provision) or align the variables`;
}

/**
 * The streams among `names` that are missing or differ from the settings: what a
 * service that may not provision (STREAM_PROVISIONING=verify) reports. Reads stream
 * info only (the metadata right every role has).
 */
export async function streamProblems(
  jsm: JetStreamManager,
  topology: Topology,
  opts: StreamOptions,
  names: readonly string[] = Object.values(topology.streams),
): Promise<StreamProblem[]> {
  const problems: StreamProblem[] = [];
  for (const spec of streamSpecs(topology, opts)) {
    if (!names.includes(spec.name)) continue;
    let info: StreamInfo;
    try {
      info = await jsm.streams.info(spec.name);
    } catch (err) {
      if (err instanceof JetStreamApiError && err.status === 404) {
        problems.push({ stream: spec.name, missing: true, diff: {} });
        continue;
      }
      throw err;
    }
    const diff = streamDifferences(info, spec);
    if (Object.keys(diff).length > 0) problems.push({ stream: spec.name, missing: false, diff });
  }
  return problems;
}

/** What the provisioning step did to one stream. */
export interface ProvisionResult {
  stream: string;
  action: "created" | "updated" | "unchanged";
  diff: Record<string, { live: unknown; wanted: unknown }>;
}

/**
 * The one-shot provisioning step (`hookstream provision`, the Kubernetes Job, `npm
 * start` on a developer machine): creates every missing stream and KV bucket and
 * brings every existing one to the settings, from the one set of stream variables.
 * Run with the `admin` NATS role: no long-running service may create or update a
 * stream (a KV bucket is one).
 */
export async function provisionStreams(
  jsm: JetStreamManager,
  topology: Topology,
  opts: StreamOptions,
): Promise<ProvisionResult[]> {
  const results: ProvisionResult[] = [];
  for (const spec of streamSpecs(topology, opts)) {
    const existed = await jsm.streams.info(spec.name).then(
      () => true,
      (err) => {
        if (err instanceof JetStreamApiError && err.status === 404) return false;
        throw err;
      },
    );
    let diff: ProvisionResult["diff"] = {};
    await ensureStream(jsm, spec, {
      mode: "update",
      onDifference: (_stream, d) => {
        diff = d;
      },
    });
    const action = !existed ? "created" : Object.keys(diff).length > 0 ? "updated" : "unchanged";
    results.push({ stream: spec.name, action, diff });
  }
  results.push(...(await provisionBuckets(jsm, topology, opts)));
  return results;
}
