import { z } from "zod";

/**
 * What the domain handlers read of OpenAI's objects: a fine-tuning job, a batch and a
 * response, as `GET /v1/fine_tuning/jobs/{id}`, `GET /v1/batches/{id}` and
 * `GET /v1/responses/{id}` return them (a fine-tuning job also as far as a webhook's
 * `data` tells it, when no API key is set). Only the fields a handler reads are named;
 * every other field passes through untouched.
 *
 * Lenient on purpose: OpenAI adds fields and may change one, and a handler must not
 * dead-letter an event over a field it only reports. A field of another type than
 * expected reads as absent, as if OpenAI had not sent it; parsing never fails on an object.
 */
function lenient<T extends z.ZodType>(schema: T) {
  return schema.optional().catch(undefined);
}

/** A fine-tuning job (`fine_tuning.job.*` events): what the FINE_TUNING snapshot keeps. */
export const FineTuningJobData = z.looseObject({
  id: lenient(z.string()),
  /** a status OpenAI adds later is kept as text; the handler falls back to the event type's */
  status: lenient(z.string()),
  model: lenient(z.string()),
  fine_tuned_model: lenient(z.string()),
  trained_tokens: lenient(z.number()),
  /** whatever OpenAI reports (`{ code, message, param }` today), kept whole */
  error: z.unknown().optional(),
  /** unix seconds */
  created_at: lenient(z.number()),
  /** unix seconds */
  finished_at: lenient(z.number()),
});
export type FineTuningJobData = z.infer<typeof FineTuningJobData>;

/** A batch (`batch.*` events): its status, request counts and files. */
export const BatchData = z.looseObject({
  status: lenient(z.string()),
  /** `{ completed, failed, total }` today, passed on as OpenAI sends it */
  request_counts: z.unknown().optional(),
  output_file_id: lenient(z.string()),
  error_file_id: lenient(z.string()),
});
export type BatchData = z.infer<typeof BatchData>;

const ResponseContentPart = z.looseObject({ type: lenient(z.string()), text: lenient(z.string()) });
// an item or part that is not an object at all is read as an empty one: skipped, not fatal
const ResponseOutputItem = z.looseObject({
  type: lenient(z.string()),
  content: lenient(z.array(ResponseContentPart.catch({}))),
});

/** A response (`response.*` events): its status and output messages. */
export const ResponseData = z.looseObject({
  status: lenient(z.string()),
  /** the SDK's convenience field: every output text joined */
  output_text: lenient(z.string()),
  output: lenient(z.array(ResponseOutputItem.catch({}))),
});
export type ResponseData = z.infer<typeof ResponseData>;
