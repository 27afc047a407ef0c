import type { Topology } from "@hookstream/contracts";
import { publishNotification } from "@hookstream/handler-kit";
import type { RunningService } from "@hookstream/runtime";
import { deleteStreams, NotificationReceiver, testTopology } from "@hookstream/testing";
import { type JetStreamClient, type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { pino } from "pino";
import { type DeliveryConfig, deliveryConfig } from "../src/config";
import { startDelivery } from "../src/startDelivery";

/** A handler's notification, as a handler publishes it (publishNotification). */
export interface TestNotification {
  handler: string;
  id: string;
  type: string;
  body: Record<string, unknown>;
}

/**
 * What a delivery test file shares, on the shared NATS: its clients, and namespaces,
 * receivers and delivery instances made on demand, each undone by one `close()`
 * (instances stopped, receivers closed, then the namespaces' streams and buckets
 * deleted — those, and only those). No database: the delivery service has none.
 */
export interface DeliveryKit {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** a namespace of its own (streams, subjects, buckets) */
  topology(label: string): Topology;
  receiver(): Promise<NotificationReceiver>;
  /** a delivery instance on `topology` with these destinations and any other settings */
  instance(
    topology: Topology,
    destinations: unknown[],
    env?: Record<string, string>,
  ): Promise<RunningService<DeliveryConfig>>;
  notify(topology: Topology, n: TestNotification): Promise<void>;
  close(): Promise<void>;
}

const logger = pino({ level: "silent" });

export async function deliveryKit(natsUrl: string): Promise<DeliveryKit> {
  const nc = await connect({ servers: natsUrl.split(",") });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  const topologies: Topology[] = [];
  const receivers: NotificationReceiver[] = [];
  const running: RunningService<DeliveryConfig>[] = [];
  return {
    nc,
    js,
    jsm,
    topology(label) {
      const t = testTopology(label);
      topologies.push(t);
      return t;
    },
    async receiver() {
      const r = await NotificationReceiver.start();
      receivers.push(r);
      return r;
    },
    async instance(topology, destinations, env = {}) {
      const r = await startDelivery(
        deliveryConfig({
          NATS_URL: natsUrl,
          HOOKSTREAM_NAMESPACE: topology.namespace,
          LOG_LEVEL: "silent",
          DESTINATIONS: JSON.stringify(destinations),
          ...env,
        }),
        logger,
      );
      running.push(r);
      return r;
    },
    async notify(topology, n) {
      await publishNotification(
        { js, topology },
        { handler: n.handler, event: { id: n.id, type: n.type }, body: n.body, force: false },
      );
    },
    async close() {
      for (const r of running.splice(0)) await r.stop();
      for (const r of receivers.splice(0)) await r.close();
      for (const t of topologies.splice(0)) await deleteStreams(jsm, t);
      await nc.close();
    },
  };
}
