import type { HandlerName, OpenAIEvent, Topology } from "@hookstream/contracts";
import type { JetStreamClient } from "@nats-io/jetstream";
import type OpenAI from "openai";
import type { Logger } from "pino";
import type { HandlerConfig } from "./handlerConfig";

export interface HandlerContext {
  event: OpenAIEvent;
  /** delivery count of this attempt, 1 for the first */
  attempt: number;
  /** true for a replay with --force: side effects are done again */
  force: boolean;
  config: HandlerConfig;
  js: JetStreamClient;
  topology: Topology;
  logger: Logger;
  /**
   * the SDK client of the event's OpenAI project (its own key and base URL), or null
   * when that project has no key: work from the webhook alone (the reason goes into
   * the event's outcome)
   */
  openai: OpenAI | null;
  /** the event's OpenAI project (`Openai-Project` header, else `default`); null when none */
  project: string | null;
  /**
   * an SDK call with the project's client, whose errors become RetryableError (429, 5xx,
   * 408, network) or PermanentError (other 4xx; 401/403 say "check project <name>'s key")
   */
  callOpenAI<T>(what: string, fn: (client: OpenAI) => Promise<T>): Promise<T>;
  /**
   * Runs a side effect once per event: skipped when an earlier attempt finished it
   * (unless forced). The step is recorded in the inbox as soon as it is done, unless
   * `keyed`: the effect is a JetStream publish whose `Nats-Msg-Id` is the event id, so a
   * second copy within the stream's duplicate window is dropped by the server. A keyed
   * step is recorded with the event's completion (or the release of a failed attempt),
   * one inbox write fewer per step; after a crash between the two the redelivery,
   * which comes within the ack wait, publishes again and JetStream drops the copy.
   */
  once(step: string, fn: () => Promise<void>, opts?: { keyed?: boolean }): Promise<void>;
  /**
   * Publishes the notification on `notifications.<handler>.<type>`, once per event
   * (keyed by the event id); the delivery service sends it to the destinations whose
   * filter takes it (NOTIFY_URLS, DESTINATIONS, the deploy hook)
   */
  notify(notification: Record<string, unknown>): Promise<void>;
}

/** What makes one domain handler: its name (catalog entry) and its work for one event. */
export interface HandlerDefinition {
  handler: HandlerName;
  process(ctx: HandlerContext): Promise<void>;
}

/** The status a terminal event type implies, when the API cannot be asked: `batch.completed` → `completed`. */
export function statusFromType(type: string): string {
  return type.slice(type.lastIndexOf(".") + 1);
}
