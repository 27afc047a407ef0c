import {
  destinationDurables,
  destinationRedriveDurable,
  type ResolvedDestination,
} from "@hookstream/contracts";
import { ackedPublisher, ensureBuckets, ensureConsumer, streamOptionsFromEnv } from "@hookstream/messaging";
import { registerConsumerGauges } from "@hookstream/observability";
import type { ServiceDefinition } from "@hookstream/runtime";
import { maskUrl } from "@hookstream/runtime";
import { registerDestinationRoutes } from "./admin/destinationRoutes";
import { stateOf } from "./breaker/breakerState";
import { SharedBreaker } from "./breaker/sharedBreaker";
import { type DeliveryConfig, deliveryEnv, resolveDestinations } from "./config";
import { deliveryMetrics, RecentAttempts } from "./deliveryMetrics";
import { startDestinationWorker } from "./workers/destinationWorker";

/** The ack wait of a destination's durables: an attempt's timeout with room to spare. */
export function ackWaitOf(d: ResolvedDestination): number {
  return Math.max(30_000, d.retry.timeoutMs + 5_000);
}

/**
 * The delivery service: every outbound HTTP call of the system. One worker per
 * destination (its own durables, requests in flight, breaker and rate limit), the
 * breaker and pause state shared by every instance through the DELIVERY_STATE
 * bucket, and the operator's routes (docs/destinations.md).
 */
export const deliveryService: ServiceDefinition<typeof deliveryEnv, DeliveryConfig> = {
  name: "delivery",
  env: deliveryEnv,
  // each attempt continues its event's trace by hand (postOutbound's traceOf): no promise
  // hooks for async context, which cost every promise of every delivery
  asyncTraceContext: false,
  async start(ctx) {
    const { config, js, jsm, topology, logger } = ctx;
    const destinations = resolveDestinations(config);
    if (destinations.length === 0)
      logger.warn(
        "no destination is configured (DESTINATIONS, NOTIFY_URLS, DEPLOY_HOOK_URL): nothing is sent",
      );
    for (const d of destinations) {
      if (!d.secret)
        logger.warn({ destination: d.name }, "destination has no signing secret: requests go out unsigned");
      logger.info(
        { destination: d.name, url: maskUrl(d.url), source: d.source, ordering: d.ordering },
        "destination configured",
      );
    }

    // the provisioning step creates the bucket; in production (verify) the service only
    // opens it, as it only verifies the streams: its NATS user may create no stream
    const kv = await ensureBuckets(js, topology, streamOptionsFromEnv(config), {
      mode: ctx.streamProvisioning === "verify" ? "verify" : "create",
      onMissing: (stream) =>
        logger.error(
          { stream },
          `KV bucket ${stream} is missing: run the provisioning step (hookstream provision)`,
        ),
    });
    const breaker = await SharedBreaker.start({
      kv,
      names: destinations.map((d) => d.name),
      policy: {
        failures: config.DELIVERY_BREAKER_FAILURES,
        pauseMs: config.DELIVERY_BREAKER_PAUSE_MS,
        maxPauseMs: config.DELIVERY_BREAKER_MAX_PAUSE_MS,
      },
      logger,
      probeLeaseMs: (name) => {
        const d = destinations.find((x) => x.name === name);
        return (d?.retry.timeoutMs ?? 10_000) + 5_000;
      },
    });

    // each destination's live durables, then its redrive durable (the dead letters an
    // operator sends back to it: docs/destinations.md, "Redriving dead letters")
    const durablesOf = new Map(
      destinations.map((d) => [
        d.name,
        [
          ...destinationDurables(topology, d, {
            partitions: config.DELIVERY_PARTITIONS,
            maxAckPending: config.DELIVERY_MAX_PENDING,
          }),
          destinationRedriveDurable(topology, d, { maxAckPending: config.DELIVERY_MAX_PENDING }),
        ],
      ]),
    );
    for (const d of destinations) {
      for (const b of durablesOf.get(d.name) ?? []) {
        await ensureConsumer(jsm, {
          stream: b.stream,
          durable: b.durable,
          filterSubject: b.filterSubject,
          // the destination's retry policy decides, not the server's count
          maxDeliver: -1,
          ackWaitMs: ackWaitOf(d),
          maxAckPending: b.maxAckPending,
        });
      }
    }
    registerConsumerGauges(ctx.registry, {
      jsm,
      durables: [...durablesOf.values()].flat().map((b) => ({ stream: b.stream, durable: b.durable })),
    });

    /**
     * Events not yet delivered: for an unordered destination its durable's pending and
     * ack pending; for an ordered one the largest pending of its partitions (each reads
     * the whole stream) plus what they hold; and the redrives waiting, in both cases.
     */
    async function pendingOf(name: string): Promise<number | null> {
      const bs = durablesOf.get(name) ?? [];
      try {
        const infos = await Promise.all(bs.map((b) => jsm.consumers.info(b.stream, b.durable)));
        const live = infos.filter((_, k) => bs[k]?.redrive !== true);
        const redrive = infos.filter((_, k) => bs[k]?.redrive === true);
        return (
          Math.max(0, ...live.map((i) => i.num_pending)) +
          redrive.reduce((s, i) => s + i.num_pending, 0) +
          infos.reduce((s, i) => s + i.num_ack_pending, 0)
        );
      } catch {
        return null;
      }
    }

    const recent = new Map(destinations.map((d) => [d.name, new RecentAttempts()]));
    // the delivery records of every destination, over one reply subscription
    const records = ackedPublisher(ctx.nc, { inboxPrefix: config.NATS_INBOX_PREFIX });
    const metrics = deliveryMetrics(ctx.registry, {
      destinations: destinations.map((d) => d.name),
      stateOf: (name) => stateOf(breaker.state(name)),
      pendingOf,
    });
    const workers = destinations.map((d) =>
      startDestinationWorker({
        js,
        records,
        topology,
        destination: d,
        durables: durablesOf.get(d.name) ?? [],
        breaker,
        metrics,
        recent: recent.get(d.name) as RecentAttempts,
        logger: logger.child({ destination: d.name }),
        concurrency: config.DELIVERY_CONCURRENCY,
        ackWaitMs: ackWaitOf(d),
      }),
    );

    return {
      consumers: [
        {
          async stop() {
            // first: messages waiting on a paused or open destination are handed back at once
            breaker.stop();
            await Promise.all(workers.map((w) => w.stop()));
            // the last records' acks, briefly: the connection drains next
            for (let waited = 0; records.pending() > 0 && waited < 2_000; waited += 50) {
              await new Promise((r) => setTimeout(r, 50));
            }
            records.close();
          },
        },
      ],
      routes: (app) =>
        registerDestinationRoutes(app, {
          destinations,
          breaker,
          recent,
          pendingOf,
          requireAdmin: ctx.requireAdmin,
          now: () => ctx.now().getTime(),
        }),
    };
  },
};
