import { handlerForType, type OpenAIEvent } from "@hookstream/contracts";
import { PermanentError, RetryableError } from "@hookstream/messaging";
import type { Logger } from "pino";
import { classifyOpenAIError } from "./classifyError";
import type { HandlerContext } from "./HandlerDefinition";
import type { InboxState } from "./inbox";
import { createNotifier } from "./notify/index";
import type { ProjectClient } from "./openaiClient";
import { postJson } from "./postJson";
import type { DeliveryDeps } from "./processDelivery";

/** One event's own facts, beside the service's parts the delivery already holds. */
export interface HandlerContextDeps
  extends Pick<DeliveryDeps, "config" | "js" | "topology" | "inbox" | "notifier"> {
  event: OpenAIEvent;
  /** the client of the event's project (or none, and why) */
  openai: ProjectClient;
  attempt: number;
  force: boolean;
  /** the delivery's logger, with the event's fields bound */
  logger: Logger;
  /** the event's inbox state as claimed: the steps already done */
  state: InboxState;
}

/**
 * What a handler's `process` is given for one event: the SDK call wrapper, `once`
 * (a side effect done at most once per event, recorded in the inbox), `notify` and
 * `postJson` (outbound calls with the event id as `Idempotency-Key`).
 */
export function createHandlerContext(deps: HandlerContextDeps): HandlerContext {
  const { event, config, inbox, state, logger } = deps;
  const { client: openai, project, reason, keySource } = deps.openai;
  const ctx: HandlerContext = {
    event,
    attempt: deps.attempt,
    force: deps.force,
    config,
    js: deps.js,
    topology: deps.topology,
    logger,
    openai,
    project,
    async callOpenAI(what, fn) {
      if (!openai) throw new PermanentError(`${what}: ${reason ?? "no API key"}`);
      try {
        return await fn(openai);
      } catch (err) {
        throw classifyOpenAIError(err, what, { project, keySource });
      }
    },
    async once(step, fn) {
      if (state.steps.has(step)) {
        logger.debug({ step }, "step already done");
        return;
      }
      await fn();
      await inbox.markStep(event.id, event.type, step);
      state.steps.add(step);
    },
    async notify(notification) {
      const notifier =
        deps.notifier ??
        createNotifier({
          handler: handlerForType(event.type) ?? "handler",
          config,
          js: deps.js,
          topology: deps.topology,
          logger,
        });
      // every destination is tried: one that fails or is paused does not hold up the others
      const errors: unknown[] = [];
      for (const url of config.NOTIFY_URLS) {
        await ctx
          .once(`notify:${url}`, () =>
            notifier.deliver({ event, attempt: deps.attempt, url, body: notification }),
          )
          .catch((err: unknown) => errors.push(err));
      }
      if (errors.length === 1) throw errors[0];
      if (errors.length > 1) {
        // retried while any destination may still take it; dead-lettered when none can
        const message = errors.map((e) => (e instanceof Error ? e.message : String(e))).join("; ");
        const retry = errors.some((e) => !(e instanceof PermanentError));
        throw retry
          ? new RetryableError(message, { cause: errors[0] })
          : new PermanentError(message, { cause: errors[0] });
      }
    },
    postJson: (url, body) =>
      postJson(url, body, { idempotencyKey: event.id, timeoutMs: config.NOTIFY_TIMEOUT_MS }),
  };
  return ctx;
}
