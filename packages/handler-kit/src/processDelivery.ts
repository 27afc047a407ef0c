import {
  HANDLERS,
  type HandlerName,
  handlerForType,
  isKnownEventType,
  KNOWN_EVENT_TYPES,
  MessageHeader,
  OpenAIEvent,
  ReplayHeader,
  type Topology,
} from "@hookstream/contracts";
import { errorMessage, HandBackError, PermanentError } from "@hookstream/messaging";
import type { JetStreamClient, JsMsg } from "@nats-io/jetstream";
import type { Logger } from "pino";
import type { HandlerDefinition } from "./HandlerDefinition";
import type { HandlerConfig } from "./handlerConfig";
import { createHandlerContext } from "./handlerContext";
import type { HandlerMetrics } from "./handlerMetrics";
import { type ClaimedState, type Inbox, LeaseLostError } from "./inbox";
import type { OpenAIClients, ProjectClient } from "./openaiClient";

/** How a delivery ended when it did not throw. */
export type DeliveryVerdict =
  /** `note`: said in the outcome, e.g. why the event was handled from the webhook alone */
  | { kind: "processed"; note?: string }
  /** the inbox had the event as handled: nothing done (reported processed, `skipped: true`) */
  | { kind: "skipped" }
  /** a type this handler does not know: recorded `ignored` with the reason, nothing done */
  | { kind: "ignored"; reason: string };

export interface DeliveryDeps {
  definition: HandlerDefinition;
  config: HandlerConfig;
  js: JetStreamClient;
  topology: Topology;
  logger: Logger;
  /** one OpenAI client per project: the event's project picks its key */
  openai: OpenAIClients;
  inbox: Inbox;
  metrics: HandlerMetrics;
  /** how long a claim holds the event; renewed while the work runs */
  leaseMs: number;
  /** true once the service is stopping: a delivery waiting for another holder hands its message back */
  stopping: () => boolean;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Step 1: the OpenAI event in the message and its project (`Openai-Project`, kept by
 * the DLQ and replays), or a PermanentError (dead-lettered at once).
 */
export function parseDelivery(msg: JsMsg): {
  event: OpenAIEvent;
  force: boolean;
  project: string | undefined;
} {
  const force = msg.headers?.get(ReplayHeader.Force) === "true";
  const project = msg.headers?.get(MessageHeader.OpenaiProject) || undefined;
  try {
    const result = OpenAIEvent.safeParse(JSON.parse(utf8.decode(msg.data)));
    if (!result.success) throw new Error(result.error.issues.map((i) => i.message).join("; "));
    return { event: result.data, force, project };
  } catch (err) {
    throw new PermanentError(`not an OpenAI event: ${errorMessage(err)}`);
  }
}

/** The event types a handler knows: the catalog's known types of its domain. */
export function knownTypesOf(handler: HandlerName): string[] {
  return KNOWN_EVENT_TYPES.filter((t) => handlerForType(t) === handler);
}

/**
 * Step 2: null when the handler knows the type, else why it is ignored. A misspelled
 * `fine_tuning.job.succeded` matches the domain's subjects but is no event OpenAI
 * sends: handling it would invent a job state.
 */
export function unknownTypeReason(handler: HandlerName, type: string): string | null {
  if (isKnownEventType(type) && handlerForType(type) === handler) return null;
  return `"${type}" is not a ${HANDLERS[handler].domain} event type this handler knows (${knownTypesOf(handler).join(", ")}); nothing done`;
}

/**
 * Step 3: claims the event in the inbox. When another delivery holds its lease (two
 * copies of one event at once, on two instances) this one waits for it in the same
 * delivery, telling the server it is still working: "busy elsewhere" is no failure, so
 * it spends no delivery and can never dead-letter the event. The holder renews its
 * lease while it works, so the wait ends when it finishes (→ "completed") or dies (→
 * the lease expires and this one takes over).
 */
export async function claimWhenFree(
  deps: DeliveryDeps,
  msg: JsMsg,
  event: OpenAIEvent,
  force: boolean,
): Promise<ClaimedState | "completed"> {
  const pollMs = Math.min(1_000, Math.max(50, Math.floor(deps.leaseMs / 4)));
  let waited = false;
  for (;;) {
    const claimed = await deps.inbox.claim(event.id, event.type, deps.leaseMs, force);
    if (claimed !== "busy") return claimed;
    if (deps.stopping()) {
      throw new HandBackError(
        `event ${event.id} is being handled elsewhere and this service is stopping`,
        250,
      );
    }
    if (!waited) {
      waited = true;
      deps.logger.info(
        { event_id: event.id, event_type: event.type },
        "handled by another delivery; waiting",
      );
    }
    msg.working();
    await sleep(pollMs);
  }
}

/**
 * Step 4: runs the handler's work while renewing the lease; releases the lease if it
 * fails. A renewal that finds the lease taken over is logged; the work then stops at
 * its next side effect (`once` checks the fence) or at `complete`.
 */
export async function processWithLease(
  deps: DeliveryDeps,
  event: OpenAIEvent,
  state: ClaimedState,
  attempt: number,
  force: boolean,
  logger: Logger,
  openai: ProjectClient,
): Promise<void> {
  const ctx = createHandlerContext({
    event,
    attempt,
    force,
    config: deps.config,
    js: deps.js,
    topology: deps.topology,
    logger,
    openai,
    inbox: deps.inbox,
    state,
    handler: deps.definition.handler,
    leaseMs: deps.leaseMs,
  });
  let lost = false;
  const renew = setInterval(
    () =>
      void deps.inbox.renew(state.lease, deps.leaseMs).then(
        (held) => {
          if (!held && !lost) {
            lost = true;
            logger.warn({ generation: state.lease.generation }, "lease taken over by another delivery");
          }
        },
        (err) => logger.warn({ err }, "could not renew the lease"),
      ),
    Math.max(100, Math.floor(deps.leaseMs / 3)),
  );
  try {
    await deps.definition.process(ctx);
  } catch (err) {
    // fenced: gives back this claim's lease only, never the one another delivery took since
    await deps.inbox.release(state.lease, state.pending).catch(() => undefined);
    throw err;
  } finally {
    clearInterval(renew);
  }
}

/**
 * One delivery of one event to one handler: parse → known type → claim (waiting out
 * another holder) → process under the lease → complete in the inbox. Throws what
 * decideAck turns into nak(delay) or term; returns how it ended otherwise.
 */
export async function processDelivery(
  deps: DeliveryDeps,
  msg: JsMsg,
  attempt: number,
): Promise<DeliveryVerdict> {
  const handler = deps.definition.handler;
  const { event, force, project } = parseDelivery(msg);
  const openai = deps.openai.forProject(project);
  const logger = deps.logger.child({
    event_id: event.id,
    event_type: event.type,
    attempt,
    force,
    project: openai.project,
  });

  const unknown = unknownTypeReason(handler, event.type);
  if (unknown !== null) {
    logger.warn({ reason: unknown }, "unknown event type; ignored");
    return { kind: "ignored", reason: unknown };
  }

  const claimed = await claimWhenFree(deps, msg, event, force);
  if (claimed === "completed") {
    deps.metrics.skipped.inc();
    logger.info("already handled; skipping");
    return { kind: "skipped" };
  }

  const started = performance.now();
  try {
    await processWithLease(deps, event, claimed, attempt, force, logger, openai);
    await deps.inbox.complete(claimed.lease, attempt, claimed.pending);
  } catch (err) {
    if (err instanceof LeaseLostError)
      logger.warn({ reason: err.message }, "lease lost; handing the message back");
    throw err;
  }
  deps.metrics.seconds.observe((performance.now() - started) / 1000);
  logger.info("handled");
  // no key for the event's project: handled as without any key, and the outcome says why
  return openai.client === null && openai.reason !== null
    ? { kind: "processed", note: `handled from the webhook alone: ${openai.reason}` }
    : { kind: "processed" };
}
