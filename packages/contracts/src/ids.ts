import { z } from "zod";
import { PROVIDER_NAME_PATTERN } from "./providers";
import { OPENAI_PROVIDER } from "./topology";

/**
 * The most characters an id may have: an event id, a `webhook-id`, a resource id, a
 * job id. Each becomes a key (the stream's `Nats-Msg-Id`, a unique index of the
 * audit, an inbox row) or a subject token (`fine_tuning.jobs.<job id>`); Postgres
 * refuses a b-tree row over ~2.7 kB (a long random id fails with 54000) and the audit,
 * which never dead-letters, would retry such a row forever. OpenAI's ids are ~30.
 */
export const MAX_ID_LENGTH = 256;

/**
 * One NATS subject token: not empty, and no `.` (a token separator), `*` or `>`
 * (wildcards), whitespace, control character or lone surrogate. An id built into a
 * subject (`fine_tuning.jobs.<id>`) that broke this rule would address other subjects
 * (`>` matches every job's snapshots). Its length bound keeps it small in UTF-8 too.
 */
export const ID_PATTERN = /^[^\s.*>\p{Cc}\p{Cs}]+$/u;

/** Why `value` is not an id, or null when it is one. */
export function idProblem(value: string): { code: "id_too_long" | "invalid_id"; why: string } | null {
  if (value.length > MAX_ID_LENGTH) {
    return { code: "id_too_long", why: `is ${value.length} characters long; at most ${MAX_ID_LENGTH}` };
  }
  if (!ID_PATTERN.test(value)) {
    return {
      code: "invalid_id",
      why: "must be one subject token: not empty, without '.', '*', '>', whitespace or control characters",
    };
  }
  return null;
}

/** An id as a route's parameter, query or body takes it (see MAX_ID_LENGTH and ID_PATTERN). */
export const Id = z
  .string()
  .max(MAX_ID_LENGTH, `at most ${MAX_ID_LENGTH} characters`)
  .regex(ID_PATTERN, "one subject token: not empty, without '.', '*', '>', whitespace or control characters");

/** A provider's name as a request gives it (`openai`, or a WEBHOOK_PROVIDERS name). */
export const ProviderName = z
  .string()
  .regex(PROVIDER_NAME_PATTERN, "lowercase letters, digits, '_' and '-' (at most 64)");

/** A resource type as the audit derives it (`fine_tuning_job`, `batch`, …): one subject-safe word. */
export const ResourceType = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,200}$/, "letters, digits, '_' and '-' (at most 200)");

/**
 * The stream's dedup key (`Nats-Msg-Id`) of an event: an event is its provider and its
 * id together, so two senders may use the same id. OpenAI's key stays its bare id (the
 * message contract since the first release); another provider's is `<provider>:<id>`,
 * and so is an OpenAI id that holds a `:`, so that no key can stand for two events
 * (a provider name holds no `:`).
 */
export function eventKey(provider: string, id: string): string {
  return provider === OPENAI_PROVIDER && !id.includes(":") ? id : `${provider}:${id}`;
}

/** The params of a route about one event (`/admin/events/:event_id`, `/admin/replay/:event_id`). */
export const EventIdParams = z.object({ event_id: Id });

/** The query of a route about one event: its provider, when the id alone is ambiguous. */
export const EventProviderQuery = z.strictObject({ provider: ProviderName.optional() });

/** The params of a route about one fine-tuning job (`/fine-tune-jobs/:id`): its id becomes `fine_tuning.jobs.<id>`. */
export const JobIdParams = z.object({ id: Id });
