import type { OpenAIEvent } from "@hookstream/contracts";
import { PermanentError } from "@hookstream/messaging";
import type { Logger } from "pino";
import { classifyOpenAIError } from "./classifyError";
import type { HandlerContext } from "./HandlerDefinition";
import { type ClaimedState, LeaseLostError } from "./inbox";
import { publishNotification } from "./notify/index";
import type { ProjectClient } from "./openaiClient";
import type { DeliveryDeps } from "./processDelivery";

/** One event's own facts, beside the service's parts the delivery already holds. */
export interface HandlerContextDeps extends Pick<DeliveryDeps, "config" | "js" | "topology" | "inbox"> {
  handler: string;
  event: OpenAIEvent;
  /** the client of the event's project (or none, and why) */
  openai: ProjectClient;
  attempt: number;
  force: boolean;
  /** the delivery's logger, with the event's fields bound */
  logger: Logger;
  /** the event's inbox state as claimed: the steps already done, and the lease held */
  state: ClaimedState;
  /** how long the lease is extended by at each check */
  leaseMs: number;
}

/**
 * What a handler's `process` is given for one event: the SDK call wrapper, `once`
 * (a side effect done at most once per event, recorded in the inbox) and `notify`
 * (the notification published as an event; the delivery service sends it on).
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
    async once(step, fn, opts) {
      if (state.steps.has(step)) {
        logger.debug({ step }, "step already done");
        return;
      }
      // the fence: a delivery whose lease was taken over (paused or slow past it) stops
      // here, before the effect, and hands its message back
      if (!(await inbox.stillHeld(state.lease, deps.leaseMs)))
        throw new LeaseLostError(state.lease, `step ${step}`);
      await fn();
      // a forced replay publishes under a fresh key, which the duplicate window cannot drop
      if (opts?.keyed && !deps.force) state.pending.push(step);
      else await inbox.markStep(state.lease, step);
      state.steps.add(step);
    },
    async notify(notification) {
      await ctx.once(
        "notify",
        () =>
          publishNotification(deps, { handler: deps.handler, event, body: notification, force: deps.force }),
        { keyed: true },
      );
    },
  };
  return ctx;
}
