import { z } from "zod";

/**
 * A subject token may not be empty and may not hold whitespace or the NATS
 * wildcards; the event type becomes part of the subject, so it must obey that.
 */
export const EVENT_TYPE_PATTERN = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/**
 * The envelope every OpenAI webhook event shares. `data` differs by type and is
 * kept whole (extra fields pass through) so that nothing OpenAI adds is lost.
 */
export const OpenAIEvent = z.looseObject({
  // its bound (MAX_ID_LENGTH) and alphabet are checked by the gateway on their own, each
  // with its own answer (id_too_long, invalid_id)
  id: z.string().min(1),
  type: z
    .string()
    .min(1)
    .max(200)
    .regex(EVENT_TYPE_PATTERN, "must be dot-separated tokens of letters, digits, '_' or '-'"),
  created_at: z.number().int().nonnegative(),
  data: z.record(z.string(), z.unknown()),
  object: z.string().optional(),
});
export type OpenAIEvent = z.infer<typeof OpenAIEvent>;
