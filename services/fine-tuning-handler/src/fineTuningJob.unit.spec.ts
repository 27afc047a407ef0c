import { describe, expect, it } from "vitest";
import { jobFromApi, jobFromWebhook } from "./fineTuningJob";

const event = {
  id: "evt_1",
  type: "fine_tuning.job.succeeded",
  created_at: 1_750_000_100,
  data: { id: "ftjob-1" },
};

describe("fine-tuning job snapshots", () => {
  it("keeps the API's fields", () => {
    expect(
      jobFromApi(
        {
          id: "ftjob-1",
          status: "succeeded",
          model: "gpt-4o-mini",
          fine_tuned_model: "ft:x",
          trained_tokens: 99,
          created_at: 5,
          finished_at: 9,
          error: null,
        },
        event,
      ),
    ).toEqual({
      id: "ftjob-1",
      status: "succeeded",
      model: "gpt-4o-mini",
      fine_tuned_model: "ft:x",
      trained_tokens: 99,
      error: null,
      created_at: 5,
      finished_at: 9,
    });
  });

  it("falls back to the event's status for a status it does not know", () => {
    expect(jobFromApi({ id: "ftjob-1", status: "paused" }, event).status).toBe("succeeded");
  });

  it("builds a terminal snapshot from the webhook alone", () => {
    expect(jobFromWebhook(event)).toMatchObject({
      id: "ftjob-1",
      status: "succeeded",
      finished_at: 1_750_000_100,
    });
  });
});
