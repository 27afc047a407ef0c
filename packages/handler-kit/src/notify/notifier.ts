import type { DeliveryOutcome, Topology } from "@hookstream/contracts";
import { errorMessage, PermanentError } from "@hookstream/messaging";
import type { Registry } from "@hookstream/observability";
import { maskUrl } from "@hookstream/runtime";
import type { JetStreamClient } from "@nats-io/jetstream";
import type { Logger } from "pino";
import { postJson } from "../postJson";
import { CircuitBreaker } from "./circuitBreaker";
import { publishDelivery } from "./deliveryLog";
import { type NotifyMetrics, notifyMetrics } from "./notifyMetrics";
import { notificationId, signedHeaders } from "./signNotification";

export interface NotifierConfig {
  NOTIFY_TIMEOUT_MS: number;
  NOTIFY_SIGNING_SECRET?: string | undefined;
  NOTIFY_BREAKER_FAILURES: number;
  NOTIFY_BREAKER_PAUSE_MS: number;
  NOTIFY_BREAKER_MAX_PAUSE_MS: number;
}

export interface NotifierOptions {
  handler: string;
  config: NotifierConfig;
  js: JetStreamClient;
  topology: Topology;
  logger: Logger;
  /** where the notify metrics go; none without it */
  registry?: Registry;
  nowMs?: () => number;
}

/** One notification of one event to one destination. */
export interface NotificationDelivery {
  event: { id: string; type: string };
  /** the handler's delivery count of the event */
  attempt: number;
  url: string;
  body: unknown;
}

export interface Notifier {
  /**
   * Sends the notification (signed when NOTIFY_SIGNING_SECRET is set), records the
   * attempt in the delivery log, and keeps the destination's circuit breaker. Throws
   * postJson's RetryableError/PermanentError on failure, and a PermanentError naming
   * the url and the end of the pause while the destination is paused (→ the DLQ).
   */
  deliver(d: NotificationDelivery): Promise<void>;
}

/**
 * The outbound side of a handler's notifications: signing, the delivery log, the
 * circuit breaker per destination and its metrics. One per handler instance (the
 * breaker's memory is this instance's).
 */
export function createNotifier(opts: NotifierOptions): Notifier {
  const { config, handler, logger } = opts;
  const now = opts.nowMs ?? Date.now;
  const breaker = new CircuitBreaker({
    failures: config.NOTIFY_BREAKER_FAILURES,
    pauseMs: config.NOTIFY_BREAKER_PAUSE_MS,
    maxPauseMs: Math.max(config.NOTIFY_BREAKER_MAX_PAUSE_MS, config.NOTIFY_BREAKER_PAUSE_MS),
  });
  const metrics: NotifyMetrics | null = opts.registry ? notifyMetrics(opts.registry, handler) : null;
  const secret = config.NOTIFY_SIGNING_SECRET;
  // the gauge is per host: it stays 1 while any destination on the host is paused
  const openByHost = new Map<string, Set<string>>();
  const setOpen = (url: string, open: boolean) => {
    const host = hostOf(url);
    const urls = openByHost.get(host) ?? new Set<string>();
    if (open) urls.add(url);
    else urls.delete(url);
    openByHost.set(host, urls);
    metrics?.breakerOpen(host, urls.size > 0);
  };

  return {
    async deliver({ event, attempt, url, body }) {
      const webhookId = notificationId(event.id, url);
      // what the delivery log, the logs and error messages show: the path may be a secret
      const shown = maskUrl(url);
      const startedAt = now();
      const record = (
        outcome: DeliveryOutcome,
        statusCode: number | null,
        latencyMs: number,
        error: string | null,
      ) => {
        metrics?.delivered(outcome);
        return publishDelivery(opts, {
          event_id: event.id,
          event_type: event.type,
          handler,
          url: shown,
          webhook_id: webhookId,
          attempt,
          status_code: statusCode,
          latency_ms: Math.round(latencyMs * 100) / 100,
          error,
          outcome,
          at: new Date(startedAt).toISOString(),
        });
      };

      const pausedUntil = breaker.pausedUntil(url, startedAt);
      if (pausedUntil !== null) {
        const reason = `notifications to ${shown} are paused until ${new Date(pausedUntil).toISOString()} (circuit breaker: ${breaker.failures(url)} consecutive failures); not sent`;
        await record("paused", null, 0, reason);
        throw new PermanentError(reason);
      }

      let status: number | null = null;
      const started = performance.now();
      try {
        await postJson(url, body, {
          idempotencyKey: event.id,
          timeoutMs: config.NOTIFY_TIMEOUT_MS,
          onStatus: (s) => {
            status = s;
          },
          ...(secret
            ? { sign: (text: string) => signedHeaders(secret, webhookId, Math.floor(now() / 1000), text) }
            : {}),
        });
      } catch (err) {
        await record("failed", status, performance.now() - started, errorMessage(err));
        const verdict = breaker.failure(url, now());
        if (verdict.opened) {
          setOpen(url, true);
          logger.warn(
            {
              url: shown,
              failures: verdict.failures,
              paused_until: new Date(verdict.pausedUntil ?? 0).toISOString(),
            },
            "notification destination paused (circuit breaker open)",
          );
        }
        throw err;
      }
      await record("delivered", status, performance.now() - started, null);
      if (breaker.success(url)) {
        setOpen(url, false);
        logger.info({ url: shown }, "notification destination healthy again (circuit breaker closed)");
      }
    },
  };
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return "invalid";
  }
}
