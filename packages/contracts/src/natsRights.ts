import type { Topology } from "./topology";

/** A stream of the topology, by its key (`webhooks`, `dlq`, …). */
export type StreamKey = keyof Topology["streams"];

/**
 * What one NATS role may do, as data: the catalog gives each service one, and
 * deploy/nats/accounts.conf is generated from it (`npm run generate`). The
 * JetStream API is a set of subjects, so each right below becomes the API subjects
 * that allow it (natsPermissions). Rights to the role's own durable consumers come
 * from the service's durables, not from here.
 */
export interface NatsRights {
  /** subjects it publishes (JetStream publishes included), contract names: `outcomes.batch.>` */
  publish: readonly string[];
  /** subjects it subscribes to besides its own inbox (`_INBOX_<user>.>`) */
  subscribe?: readonly string[];
  /**
   * Streams it may create and update (STREAM.CREATE / STREAM.UPDATE). None for a
   * long-running service: the one-shot provisioning step (`hookstream provision`, run
   * as the `admin` user) creates and updates every stream, and services only verify them.
   */
  provision: "all" | readonly StreamKey[];
  /** streams whose messages it reads by sequence (STREAM.MSG.GET) */
  getMessages?: readonly StreamKey[];
  /** streams it deletes single messages from (STREAM.MSG.DELETE) */
  deleteMessages?: readonly StreamKey[];
  /** streams it reads through throwaway ordered consumers: create, pull, delete them */
  scan?: readonly StreamKey[];
  /**
   * streams on which it binds durables whose names come from its configuration (the
   * delivery service's destinations). NATS permissions match whole subject tokens and
   * a durable name is one token, so no name prefix can be granted: any durable name
   * on them, except the catalog's durables of other services there, which are denied
   * (natsPermissions' `others`), and only with a filter inside the stream's subjects.
   */
  durablesOn?: readonly StreamKey[];
  /** KV buckets it reads, writes (compare-and-set) and watches; the provisioning step creates them */
  buckets?: readonly BucketKey[];
  /**
   * KV buckets it keeps locks in: reads a key, creates, renews and deletes it
   * (compare-and-set); never watches. The provisioning step creates them.
   */
  lockBuckets?: readonly BucketKey[];
}

/** A KV bucket of the topology, by its key (`deliveryState`). */
export type BucketKey = keyof Topology["buckets"];

/** A NATS user: its name (also its inbox prefix `_INBOX_<user>`) and its rights; no rights = the whole account. */
export interface NatsRole {
  user: string;
  rights: NatsRights | "everything";
}

/** A durable consumer the role binds: its stream's name and its durable name. */
export interface DurableGrant {
  stream: string;
  durable: string;
}

/** The environment variable nats-server reads a user's password from: `HOOKSTREAM_NATS_FINE_TUNING_PASSWORD`. */
export function natsPasswordVar(user: string): string {
  return `HOOKSTREAM_NATS_${user.toUpperCase().replaceAll("-", "_")}_PASSWORD`;
}

/** The inbox prefix a role's connection must use (NATS_INBOX_PREFIX): replies come back there only. */
export function natsInboxPrefix(user: string): string {
  return `_INBOX_${user}`;
}

/** Metadata only (readiness, consumer-lag gauges): every role has it. */
export const NATS_METADATA_SUBJECTS = ["$JS.API.INFO", "$JS.API.STREAM.INFO.*", "$JS.API.CONSUMER.INFO.*.*"];

export interface NatsPermissions {
  /** groups of publish subjects, each with the reason it is there (comments of the generated file) */
  publish: { why: string; subjects: string[] }[];
  /** publish subjects refused although an allowed wildcard covers them (deny wins in nats-server) */
  deny: { why: string; subjects: string[] }[];
  subscribe: string[];
}

/**
 * The subjects a role may publish and subscribe to, in the topology's names:
 * its rights, its durables' consumer API and ack subjects, the metadata every
 * role reads, and its own inbox. `others`: every durable of the catalog that is not
 * the role's, denied where `durablesOn` would let it bind them.
 */
export function natsPermissions(
  user: string,
  rights: NatsRights,
  durables: readonly DurableGrant[],
  topology: Topology,
  others: readonly DurableGrant[] = [],
): NatsPermissions {
  const name = (key: StreamKey) => topology.streams[key];
  const allStreams = Object.keys(topology.streams) as StreamKey[];
  const provisioned = rights.provision === "all" ? allStreams : rights.provision;
  const publish: NatsPermissions["publish"] = [];
  const group = (why: string, subjects: string[]) => {
    if (subjects.length > 0) publish.push({ why, subjects });
  };
  group("its own subjects", [...rights.publish]);
  group("metadata: readiness and the consumer-lag gauges", [...NATS_METADATA_SUBJECTS]);
  group(
    "creates streams and updates their settings",
    provisioned.flatMap((s) => [`$JS.API.STREAM.CREATE.${name(s)}`, `$JS.API.STREAM.UPDATE.${name(s)}`]),
  );
  group(
    "its durable consumers: create or update, pull, acknowledge",
    durables.flatMap(({ stream, durable }) => durableSubjects(stream, durable)),
  );
  group(
    "durables named by its configuration (any name but the catalog's, denied below): create or update with a filter in the stream's subjects, pull, acknowledge",
    (rights.durablesOn ?? []).flatMap((s) => [
      `$JS.API.CONSUMER.CREATE.${name(s)}.*`,
      // 2.10+ puts the filter subject in the API subject: only the stream's own subjects
      ...streamSubjects(topology, s).map((subject) => `$JS.API.CONSUMER.CREATE.${name(s)}.*.${subject}`),
      `$JS.API.CONSUMER.DURABLE.CREATE.${name(s)}.*`,
      `$JS.API.CONSUMER.MSG.NEXT.${name(s)}.*`,
      `$JS.ACK.${name(s)}.*.>`,
    ]),
  );
  group(
    // no STREAM.CREATE: the provisioning step creates the buckets as it does the streams
    "its KV buckets (made by the provisioning step): get, put (compare-and-set), watch",
    (rights.buckets ?? []).flatMap((b) => {
      const bucket = topology.buckets[b];
      return [
        `$KV.${bucket}.>`,
        `$JS.API.DIRECT.GET.KV_${bucket}.>`,
        `$JS.API.STREAM.MSG.GET.KV_${bucket}`,
        `$JS.API.CONSUMER.CREATE.KV_${bucket}`,
        `$JS.API.CONSUMER.CREATE.KV_${bucket}.>`,
        `$JS.API.CONSUMER.DELETE.KV_${bucket}.*`,
        `$JS.FC.KV_${bucket}.>`,
      ];
    }),
  );
  group(
    "its lock buckets (made by the provisioning step): get, put and delete by key (compare-and-set)",
    (rights.lockBuckets ?? []).flatMap((b) => {
      const bucket = topology.buckets[b];
      return [`$KV.${bucket}.>`, `$JS.API.DIRECT.GET.KV_${bucket}.>`, `$JS.API.STREAM.MSG.GET.KV_${bucket}`];
    }),
  );
  group(
    "throwaway ordered readers (create, pull, delete) of the streams it scans",
    (rights.scan ?? []).flatMap((s) => [
      `$JS.API.CONSUMER.CREATE.${name(s)}.>`,
      `$JS.API.CONSUMER.MSG.NEXT.${name(s)}.*`,
      `$JS.API.CONSUMER.DELETE.${name(s)}.*`,
    ]),
  );
  group(
    "reads single messages by sequence",
    (rights.getMessages ?? []).map((s) => `$JS.API.STREAM.MSG.GET.${name(s)}`),
  );
  group(
    "deletes single messages",
    (rights.deleteMessages ?? []).map((s) => `$JS.API.STREAM.MSG.DELETE.${name(s)}`),
  );
  const onStreams = new Set((rights.durablesOn ?? []).map(name));
  const theirs = others.filter((d) => onStreams.has(d.stream));
  const deny: NatsPermissions["deny"] =
    theirs.length === 0
      ? []
      : [
          {
            why: "other services' durables on those streams: never created, updated, pulled or acknowledged by this role",
            subjects: theirs.flatMap(({ stream, durable }) => durableSubjects(stream, durable)),
          },
        ];
  return { publish, deny, subscribe: [`${natsInboxPrefix(user)}.>`, ...(rights.subscribe ?? [])] };
}

/** The consumer API and ack subjects of one durable: create or update, pull, acknowledge. */
function durableSubjects(stream: string, durable: string): string[] {
  return [
    `$JS.API.CONSUMER.CREATE.${stream}.${durable}`,
    `$JS.API.CONSUMER.CREATE.${stream}.${durable}.>`,
    `$JS.API.CONSUMER.DURABLE.CREATE.${stream}.${durable}`,
    `$JS.API.CONSUMER.MSG.NEXT.${stream}.${durable}`,
    `$JS.ACK.${stream}.${durable}.>`,
  ];
}

/** The subjects a stream of the topology takes (the provisioning step's, packages/messaging). */
export function streamSubjects(topology: Topology, stream: StreamKey): string[] {
  const s = topology.subjects;
  switch (stream) {
    case "webhooks":
      return [s.webhooksAll];
    case "fineTuning":
      return [`${s.fineTuningPrefix}.>`];
    case "outcomes":
      return [`${s.outcomesPrefix}.>`];
    case "dlq":
      return [`${s.dlqPrefix}.>`];
    case "replays":
      return [`${s.replaysPrefix}.>`];
    case "advisories":
      return [`${s.maxDeliveriesAdvisory}.>`, `${s.maxDeliveriesReplayAdvisory}.>`];
    case "deliveries":
      return [`${s.deliveriesPrefix}.>`];
    case "notifications":
      return [`${s.notificationsPrefix}.>`];
    default: {
      const _exhaustive: never = stream;
      return _exhaustive;
    }
  }
}
