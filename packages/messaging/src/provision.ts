import type { Topology } from "@hookstream/contracts";
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  JetStreamApiError,
  type JetStreamManager,
  RetentionPolicy,
  StorageType,
  type StreamConfig,
  type StreamInfo,
} from "@nats-io/jetstream";
import { nanos } from "@nats-io/transport-node";

/** JetStream API error code: "stream name already in use with a different configuration". */
const STREAM_NAME_IN_USE = 10058;

export interface StreamOptions {
  replicas: number;
  /** how long a message id is remembered for dedup (default 2 h) */
  duplicateWindowMs: number;
  /** how long messages are kept (default 30 days) */
  maxAgeMs: number;
}

export const DEFAULT_STREAM_OPTIONS: StreamOptions = {
  replicas: 1,
  duplicateWindowMs: 2 * 60 * 60 * 1000,
  maxAgeMs: 30 * 24 * 60 * 60 * 1000,
};

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
  };
  return [
    {
      ...common,
      name: topology.streams.webhooks,
      subjects: [topology.subjects.webhooksAll],
      max_age: nanos(opts.maxAgeMs),
    },
    // The projection is rebuilt from this stream, so it keeps everything: no max age.
    {
      ...common,
      name: topology.streams.fineTuning,
      subjects: [`${topology.subjects.fineTuningPrefix}.>`],
      max_age: 0,
    },
    {
      ...common,
      name: topology.streams.outcomes,
      subjects: [`${topology.subjects.outcomesPrefix}.>`],
      max_age: nanos(opts.maxAgeMs),
    },
    { ...common, name: topology.streams.dlq, subjects: [`${topology.subjects.dlqPrefix}.>`], max_age: 0 },
    {
      ...common,
      name: topology.streams.replays,
      subjects: [`${topology.subjects.replaysPrefix}.>`],
      max_age: nanos(opts.maxAgeMs),
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
      max_age: nanos(opts.maxAgeMs),
    },
  ];
}

function differs(info: StreamInfo, spec: StreamSpec): boolean {
  const c = info.config;
  return (
    c.duplicate_window !== spec.duplicate_window ||
    c.max_age !== spec.max_age ||
    c.num_replicas !== spec.num_replicas ||
    JSON.stringify(c.subjects) !== JSON.stringify(spec.subjects)
  );
}

/**
 * Creates the stream or brings its settings up to date. Safe when several
 * instances start at once: whoever loses the race to create it updates instead.
 */
export async function ensureStream(jsm: JetStreamManager, spec: StreamSpec): Promise<StreamInfo> {
  for (let attempt = 0; ; attempt++) {
    let info: StreamInfo | null = null;
    try {
      info = await jsm.streams.info(spec.name);
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.status === 404)) throw err;
    }
    try {
      if (info === null) return await jsm.streams.add(spec);
      if (!differs(info, spec)) return info;
      const { name: _name, ...update } = spec;
      return await jsm.streams.update(spec.name, { ...info.config, ...update });
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
): Promise<void> {
  for (const spec of streamSpecs(topology, opts)) await ensureStream(jsm, spec);
}

export interface DurableSpec {
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
 * No `backoff` list: on 2.9 it only applies to ack timeouts (STACK.md); nak delays
 * are computed by decideAck.
 */
export async function ensureConsumer(jsm: JetStreamManager, spec: DurableSpec): Promise<void> {
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
