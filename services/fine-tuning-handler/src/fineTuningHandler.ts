import { FineTuningJobData, type JobSnapshot, jobSubject } from "@hookstream/contracts";
import type { HandlerDefinition } from "@hookstream/handler-kit";
import { PermanentError } from "@hookstream/messaging";
import { injectTraceContext } from "@hookstream/observability";
import { headers as natsHeaders } from "@nats-io/transport-node";
import { fineTuningNotification, jobFromApi, jobFromWebhook } from "./fineTuningJob";

/**
 * A fine-tuning event: fetch the job (when a key is set), record the snapshot on
 * `fine_tuning.jobs.<job id>` (the projection's input) and publish the notification.
 * Each side effect runs once per event (handler-kit's inbox). The deploy hook is a
 * destination of the delivery service (DEPLOY_HOOK_URL): it takes this handler's
 * `fine_tuning.job.succeeded` notifications and sends `{ job_id, fine_tuned_model }`.
 */
export const fineTuningHandler: HandlerDefinition = {
  handler: "fine-tuning",
  async process(ctx) {
    const { event } = ctx;
    const jobId = event.data.id;
    if (typeof jobId !== "string" || jobId.length === 0)
      throw new PermanentError("the event has no data.id (job id)");
    const job = ctx.openai
      ? jobFromApi(
          FineTuningJobData.parse(
            await ctx.callOpenAI("retrieve fine-tuning job", (c) =>
              c.fineTuning.jobs.retrieve(jobId, { headers: { "Idempotency-Key": event.id } }),
            ),
          ),
          event,
        )
      : jobFromWebhook(event);

    const snapshot: JobSnapshot = {
      event_id: event.id,
      event_type: event.type,
      event_created_at: event.created_at,
      source: ctx.openai ? "api" : "webhook",
      job,
      // the projection keeps the job's project (fine_tune_jobs.project)
      ...(ctx.project !== null ? { project: ctx.project } : {}),
    };
    await ctx.once(
      "snapshot",
      async () => {
        // msgID = event id: JetStream drops a second copy; the projection folds by event id anyway
        // traceparent: the projection's batch span links to this event's trace
        const headers = natsHeaders();
        injectTraceContext(headers);
        await ctx.js.publish(jobSubject(ctx.topology, job.id), JSON.stringify(snapshot), {
          msgID: event.id,
          headers,
        });
      },
      { keyed: true },
    );

    await ctx.notify(fineTuningNotification(event, job));
  },
};
