import { z } from "zod";
import { HANDLER_NAMES } from "./handlers";
import { PROVIDER_NAME_PATTERN } from "./providers";

/**
 * `DESTINATIONS` (docs/destinations.md): where the delivery service sends what. A
 * destination is one lowercase token (it names durables, subjects and metrics), a
 * URL, what it receives (`notifications`: the handlers' notification bodies;
 * `events`: the raw bodies as received, any provider), a filter, signing, headers,
 * ordering, a retry policy and a rate limit.
 */
export const DESTINATION_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,47}$/;

export const DESTINATION_SOURCES = ["notifications", "events"] as const;
export type DestinationSource = (typeof DESTINATION_SOURCES)[number];

export const DESTINATION_ORDERINGS = ["none", "resource"] as const;
export type DestinationOrdering = (typeof DESTINATION_ORDERINGS)[number];

/** What a destination is sent: the body as published, or (the deploy hook) `{ job_id, fine_tuned_model }`. */
export const DESTINATION_BODIES = ["as-is", "deploy"] as const;
export type DestinationBody = (typeof DESTINATION_BODIES)[number];

/** A type glob: segments separated by dots, `*` for any run of characters (`batch.*`, `*.failed`). */
const TYPE_GLOB = /^[A-Za-z0-9_*.-]{1,200}$/;
/** RFC 6901: empty (the whole body) or `/`-separated tokens. */
const JSON_POINTER = /^(\/([^~]|~[01])*)*$/;
/** Headers the delivery service sets itself: a destination may not replace them. */
export const RESERVED_HEADERS = [
  "content-type",
  "content-length",
  "host",
  "idempotency-key",
  "webhook-id",
  "webhook-timestamp",
  "webhook-signature",
  "traceparent",
  "tracestate",
] as const;
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$/;

export const DestinationFilter = z.strictObject({
  /** globs over the event type; any of them may match */
  types: z
    .array(z.string().regex(TYPE_GLOB, "a type glob: letters, digits, '.', '_', '-', '*'"))
    .min(1)
    .optional(),
  /** the senders whose events pass (`openai`, or a WEBHOOK_PROVIDERS name) */
  providers: z.array(z.string().regex(PROVIDER_NAME_PATTERN, "a provider name")).min(1).optional(),
  /** notifications of these handlers only */
  handlers: z
    .array(z.enum(HANDLER_NAMES as [string, ...string[]]))
    .min(1)
    .optional(),
  /** JSON pointer into the body → the value it must equal (every pair must hold) */
  match: z
    .record(
      z.string().regex(JSON_POINTER, 'a JSON pointer such as "/status" or "/data/id"'),
      z.union([z.string(), z.number(), z.boolean(), z.null()]),
    )
    .optional(),
});
export type DestinationFilter = z.infer<typeof DestinationFilter>;

export const DestinationRetry = z.strictObject({
  /** HTTP attempts in all, the first included; then the event is dead-lettered */
  attempts: z.number().int().min(1).max(10_000).default(12),
  /** delay before attempt n+1 is backoffMs[n-1], the last entry repeating */
  backoffMs: z.array(z.number().int().min(0).max(86_400_000)).min(1).default([1_000, 5_000, 30_000, 300_000]),
  /** one attempt's deadline */
  timeoutMs: z.number().int().min(100).max(300_000).default(10_000),
  /** the longest an event is tried after it was published; then it is dead-lettered */
  maxAgeMs: z
    .number()
    .int()
    .min(1_000)
    .default(3 * 24 * 60 * 60 * 1000),
});
export type DestinationRetry = z.infer<typeof DestinationRetry>;

const WHSEC = /^whsec_[A-Za-z0-9+/]+={0,2}$/;

export const Destination = z
  .strictObject({
    name: z
      .string()
      .regex(
        DESTINATION_NAME_PATTERN,
        "lowercase letters, digits, '_' and '-' (at most 48), e.g. \"ml-ops\"",
      ),
    url: z.url({ protocol: /^https?$/, error: "an http(s) URL" }),
    source: z.enum(DESTINATION_SOURCES).default("notifications"),
    filter: DestinationFilter.default({}),
    /** Standard Webhooks signing of each request */
    secret: z
      .string()
      .regex(WHSEC, "must be whsec_ followed by base64 (a Standard Webhooks secret)")
      .optional(),
    headers: z
      .record(z.string().regex(HEADER_NAME, "an HTTP header name"), z.string().max(4_000))
      .default({}),
    ordering: z.enum(DESTINATION_ORDERINGS).default("none"),
    retry: DestinationRetry.default(DestinationRetry.parse({})),
    /** requests per second at most, per delivery instance */
    ratePerSec: z.number().positive().max(100_000).optional(),
  })
  .superRefine((d, ctx) => {
    if (d.source === "events" && d.filter.handlers) {
      ctx.addIssue({
        code: "custom",
        path: ["filter", "handlers"],
        message: 'only a "notifications" destination has handlers; filter raw events by types or providers',
      });
    }
    for (const name of Object.keys(d.headers)) {
      if ((RESERVED_HEADERS as readonly string[]).includes(name.toLowerCase())) {
        ctx.addIssue({
          code: "custom",
          path: ["headers", name],
          message: `"${name}" is set by the delivery service and cannot be configured`,
        });
      }
    }
  });
export type Destination = z.infer<typeof Destination>;

export const Destinations = z.array(Destination).superRefine((list, ctx) => {
  const seen = new Map<string, number>();
  list.forEach((d, i) => {
    const first = seen.get(d.name);
    if (first !== undefined)
      ctx.addIssue({
        code: "custom",
        path: [i, "name"],
        message: `"${d.name}" is also destination [${first}]`,
      });
    else seen.set(d.name, i);
  });
});
export type Destinations = z.infer<typeof Destinations>;

/** A destination as the delivery service runs it: the configured fields plus what it is sent. */
export type ResolvedDestination = Destination & { body: DestinationBody };

/** The state an operator sees: delivering, the breaker open (probing when it may try one), or paused by hand. */
export const DESTINATION_STATES = ["active", "open", "paused"] as const;
export const DestinationState = z.enum(DESTINATION_STATES);
export type DestinationState = z.infer<typeof DestinationState>;

/** `GET /admin/destinations` (one entry): state, pending count, success rate, p99 and last error. */
export const DestinationStatus = z.object({
  name: z.string(),
  /** the URL with its path masked (`https://hooks.example.com/***`) */
  url: z.string(),
  source: z.enum(DESTINATION_SOURCES),
  ordering: z.enum(DESTINATION_ORDERINGS),
  state: DestinationState,
  /** why it is open or paused (the breaker's failures, who paused it) */
  reason: z.string().nullable(),
  /** when the breaker lets one probe through (ISO), while open */
  retry_at: z.string().nullable(),
  /**
   * consecutive failed attempts, shared by every instance (the breaker opens at
   * DELIVERY_BREAKER_FAILURES): above 0 while active, the destination is failing
   */
  failures: z.number().int().nonnegative().default(0),
  /** messages waiting in its durable(s) plus those delivered and not yet settled */
  pending: z.number().int().nullable(),
  /** attempts that succeeded, of the last ones this instance made (null: none yet) */
  success_rate: z.number().min(0).max(1).nullable(),
  p99_ms: z.number().nullable(),
  last_error: z.string().nullable(),
  last_error_at: z.string().nullable(),
});
export type DestinationStatus = z.infer<typeof DestinationStatus>;

export const DestinationList = z.object({ destinations: z.array(DestinationStatus) });
export type DestinationList = z.infer<typeof DestinationList>;

/** `POST /admin/destinations/:name/pause` and `/resume`. */
export const DestinationPauseRequest = z.strictObject({ reason: z.string().max(500).optional() });
export type DestinationPauseRequest = z.infer<typeof DestinationPauseRequest>;

/** `POST /admin/destinations/:name/test`: one signed test event sent now, outside the queue. */
export const DestinationTestResult = z.object({
  name: z.string(),
  ok: z.boolean(),
  status_code: z.number().int().nullable(),
  latency_ms: z.number(),
  error: z.string().nullable(),
});
export type DestinationTestResult = z.infer<typeof DestinationTestResult>;

export const DestinationNameParam = z.strictObject({
  name: z.string().regex(DESTINATION_NAME_PATTERN, "a destination name"),
});
