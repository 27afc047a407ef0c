import { DEV_WEBHOOK_SECRET } from "@hookstream/config";
import { ackedPublisher } from "@hookstream/messaging";
import type { ServiceDefinition } from "@hookstream/runtime";
import type { FastifyBaseLogger } from "fastify";
import { countShellRejections, registerWebhookRoute } from "./app";
import { checkGatewayEnv, effectiveBodyLimit, gatewayEnv } from "./config";
import { gatewayMetrics } from "./gatewayMetrics";

/**
 * The gateway: stateless, no database, no durable. It owns the streams (the catalog's
 * `ownsStreams`): its start brings them to the configured settings. Requests get a 503
 * at once while NATS is away and succeed again as soon as it is back.
 */
export const gatewayService: ServiceDefinition<typeof gatewayEnv> = {
  name: "gateway",
  env: gatewayEnv,
  checkEnv: checkGatewayEnv,
  // the request's trace goes into the message by hand (injectRequestTrace): no promise
  // hooks for async context, which cost a tenth of the gateway's time per request
  asyncTraceContext: false,
  start(ctx) {
    const { config } = ctx;
    if (config.OPENAI_PROJECTS !== undefined) {
      const projects = config.OPENAI_PROJECTS.map((p) => `${p.name} (${p.secrets.length} secrets)`);
      ctx.logger.info({ projects }, "OpenAI projects from OPENAI_PROJECTS");
      if (config.OPENAI_WEBHOOK_SECRET !== DEV_WEBHOOK_SECRET)
        ctx.logger.warn("OPENAI_WEBHOOK_SECRET is ignored: OPENAI_PROJECTS lists every project's secrets");
    } else if (config.OPENAI_WEBHOOK_SECRET === DEV_WEBHOOK_SECRET) {
      ctx.logger.warn(
        "OPENAI_WEBHOOK_SECRET is not set: using the public development secret (refused with NODE_ENV=production)",
      );
    }
    const metrics = gatewayMetrics(ctx.registry);
    // one reply subscription for every publish's ack (ackedPublisher: why not js.publish)
    const publisher = ackedPublisher(ctx.nc, { inboxPrefix: config.NATS_INBOX_PREFIX });
    return {
      // after HTTP has closed (every request answered), before NATS drains
      stop: async () => publisher.close(),
      http: {
        bodyLimit: effectiveBodyLimit(config.MAX_BODY_BYTES, ctx.nc.info?.max_payload),
        trustProxy: config.TRUST_PROXY,
        onErrorAnswer: countShellRejections(metrics),
      },
      routes(app) {
        registerWebhookRoute(
          app,
          {
            config,
            topology: ctx.topology,
            publisher,
            logger: ctx.logger as FastifyBaseLogger,
            registry: ctx.registry,
            maxPayload: ctx.nc.info?.max_payload,
            isConnected: ctx.isConnected,
          },
          metrics,
        );
      },
    };
  },
};
