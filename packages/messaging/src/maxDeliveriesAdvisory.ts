import { z } from "zod";

/**
 * The server's `io.nats.jetstream.advisory.v1.max_deliver` advisory, published on
 * `$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.<stream>.<consumer>` when a message
 * reached max_deliver without an ack — e.g. the process died on its last delivery.
 */
export const MaxDeliveriesAdvisory = z.looseObject({
  type: z.string(),
  stream: z.string(),
  consumer: z.string(),
  stream_seq: z.number().int().positive(),
  deliveries: z.number().int(),
});
export type MaxDeliveriesAdvisory = z.infer<typeof MaxDeliveriesAdvisory>;
