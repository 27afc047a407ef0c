import { CONSUMERS, type DurableName, handlerServiceName } from "@hookstream/contracts";
import { runConsumer } from "@hookstream/messaging";
import type { ServiceDefinition, Stoppable } from "@hookstream/runtime";
import type { JsMsg } from "@nats-io/jetstream";
import type { HandlerDefinition } from "./HandlerDefinition";
import { handlerEnv, retryPolicyOf } from "./handlerConfig";
import { handlerMetrics } from "./handlerMetrics";
import { Inbox, inboxMigrations } from "./inbox";
import { handleMaxDeliveriesAdvisory } from "./maxDeliveriesAdvisory";
import { createOpenAIClients } from "./openaiClient";
import { type DeliveryDeps, type DeliveryVerdict, processDelivery } from "./processDelivery";
import { type OutcomeDeps, reportAttempt } from "./recordOutcome";

/**
 * One domain handler as a service: its inbox (migrated at start) and the four
 * durables the catalog gives it — events on WEBHOOKS, replays on WEBHOOK_REPLAYS, and
 * the MAX_DELIVERIES advisories of each — each consumed by the step that fits its kind.
 */
export function handlerService(definition: HandlerDefinition): ServiceDefinition<typeof handlerEnv> {
  const handler = definition.handler;
  return {
    name: handlerServiceName(handler),
    env: handlerEnv,
    db: { entities: [], migrations: inboxMigrations(handler) },
    // HANDLER_* shape the events and replay durables; advisories keep the catalog's policy
    retryOf: (config, durable, catalog) =>
      CONSUMERS[durable].kind === "advisories" ? catalog : retryPolicyOf(config),
    async start(ctx) {
      const { config, js, jsm, topology, logger } = ctx;
      const openai = await createOpenAIClients(config);
      for (const { project, reason } of openai.withoutKey())
        logger.warn({ project }, `${reason}: its events are handled from the webhook alone`);
      const inbox = new Inbox(ctx.orm(), handler);
      const metrics = handlerMetrics(ctx.registry, { handler });
      const outcomes: OutcomeDeps = { handler, js, topology, metrics, now: ctx.now };
      let stopping = false;
      const delivery: DeliveryDeps = {
        definition,
        config,
        js,
        topology,
        logger,
        openai,
        inbox,
        metrics,
        // held while an attempt works and renewed as often as the in-progress acks, so it
        // outlives a crashed attempt by at most one ack wait: the server redelivers no sooner
        leaseMs: retryPolicyOf(config).ackWaitMs,
        stopping: () => stopping,
      };

      const runners: Stoppable[] = [];
      for (const b of ctx.durables.values()) {
        const consumerLogger = logger.child({ consumer: b.durable });
        switch (b.spec.kind) {
          case "events":
          case "replays": {
            const replay = b.spec.kind === "replays";
            const verdicts = new WeakMap<JsMsg, DeliveryVerdict>();
            runners.push(
              runConsumer({
                js,
                stream: b.stream,
                durable: b.durable,
                policy: b.policy,
                logger: consumerLogger,
                concurrency: config.HANDLER_CONCURRENCY,
                async handle(msg, { attempt }) {
                  verdicts.set(msg, await processDelivery(delivery, msg, attempt));
                },
                beforeSettle: (msg, decision, error) =>
                  reportAttempt(outcomes, msg, decision, error, verdicts.get(msg), replay),
              }),
            );
            break;
          }
          case "advisories": {
            const reported = b.spec.reports as DurableName;
            const source = {
              stream: topology.streams[CONSUMERS[reported].stream],
              replay: CONSUMERS[reported].kind === "replays",
            };
            runners.push(
              runConsumer({
                js,
                stream: b.stream,
                durable: b.durable,
                policy: b.policy,
                logger: consumerLogger,
                concurrency: 1,
                handle: (adv) =>
                  handleMaxDeliveriesAdvisory({ ...outcomes, jsm, inbox, logger }, adv, source),
              }),
            );
            break;
          }
          default:
            throw new Error(`a handler service does not consume ${b.spec.kind} durables (${b.durable})`);
        }
      }
      return {
        consumers: [
          {
            async stop() {
              // a delivery waiting for another holder's lease hands its message back
              stopping = true;
              await Promise.all(runners.map((r) => r.stop()));
            },
          },
        ],
      };
    },
  };
}
