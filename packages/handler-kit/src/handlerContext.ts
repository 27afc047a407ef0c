import type { OpenAIEvent, Topology } from "@hookstream/contracts";
import { PermanentError } from "@hookstream/messaging";
import type { JetStreamClient } from "@nats-io/jetstream";
import type OpenAI from "openai";
import type { Logger } from "pino";
import { classifyOpenAIError } from "./classifyError";
import type { HandlerContext } from "./HandlerDefinition";
import type { HandlerConfig } from "./handlerConfig";
import type { Inbox, InboxState } from "./inbox";
import { postJson } from "./postJson";

export interface HandlerContextDeps {
  event: OpenAIEvent;
  attempt: number;
  force: boolean;
  config: HandlerConfig;
  js: JetStreamClient;
  topology: Topology;
  logger: Logger;
  openai: OpenAI | null;
  inbox: Inbox;
  /** the event's inbox state as claimed: the steps already done */
  state: InboxState;
}

/**
 * What a handler's `process` is given for one event: the SDK call wrapper, `once`
 * (a side effect done at most once per event, recorded in the inbox), `notify` and
 * `postJson` (outbound calls with the event id as `Idempotency-Key`).
 */
export function createHandlerContext(deps: HandlerContextDeps): HandlerContext {
  const { event, config, inbox, state, logger, openai } = deps;
  const ctx: HandlerContext = {
    event,
    attempt: deps.attempt,
    force: deps.force,
    config,
    js: deps.js,
    topology: deps.topology,
    logger,
    openai,
    async callOpenAI(what, fn) {
      if (!openai) throw new PermanentError(`${what}: no OPENAI_API_KEY`);
      try {
        return await fn(openai);
      } catch (err) {
        throw classifyOpenAIError(err, what);
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
      for (const url of config.NOTIFY_URLS) {
        await ctx.once(`notify:${url}`, () => ctx.postJson(url, notification));
      }
    },
    postJson: (url, body) =>
      postJson(url, body, { idempotencyKey: event.id, timeoutMs: config.NOTIFY_TIMEOUT_MS }),
  };
  return ctx;
}
