import { FINE_TUNE_STATUSES } from "@hookstream/contracts";
import { defineEntity, type InferEntity } from "@mikro-orm/core";

/** One row per OpenAI fine-tuning job (contract table `fine_tune_jobs`): the fold of FINE_TUNING. */
export const FineTuneJobEntity = defineEntity({
  name: "FineTuneJob",
  tableName: "fine_tune_jobs",
  properties: (p) => ({
    openaiJobId: p.text().fieldName("openai_job_id").primary(),
    status: p.enum([...FINE_TUNE_STATUSES]).columnType("text"),
    model: p.text().nullable(),
    fineTunedModel: p.text().fieldName("fine_tuned_model").nullable(),
    trainedTokens: p.bigint("number").fieldName("trained_tokens").nullable(),
    error: p.json<unknown>().columnType("jsonb").nullable(),
    createdAt: p.datetime().fieldName("created_at").columnType("timestamptz").nullable(),
    finishedAt: p.datetime().fieldName("finished_at").columnType("timestamptz").nullable(),
    lastEventId: p.text().fieldName("last_event_id"),
    lastEventAt: p.datetime().fieldName("last_event_at").columnType("timestamptz"),
    lastStreamSeq: p.bigint("number").fieldName("last_stream_seq"),
    statusEventAt: p.datetime().fieldName("status_event_at").columnType("timestamptz"),
    statusStreamSeq: p.bigint("number").fieldName("status_stream_seq"),
    version: p.integer(),
    project: p.text().nullable(),
    updatedAt: p.datetime().fieldName("updated_at").columnType("timestamptz"),
  }),
});
export type FineTuneJobRow = InferEntity<typeof FineTuneJobEntity>;
