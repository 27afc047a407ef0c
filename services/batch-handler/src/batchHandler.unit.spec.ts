import { describe, expect, it } from "vitest";
import { batchNotification } from "./batchHandler";

describe("batchNotification", () => {
  it("gives request counts and the output file from the API's batch", () => {
    const n = batchNotification(
      { id: "evt_1", type: "batch.completed", created_at: 1, data: { id: "batch_1" } },
      {
        status: "completed",
        request_counts: { completed: 9, failed: 1, total: 10 },
        output_file_id: "file-out",
        error_file_id: "file-err",
      },
    );
    expect(n).toEqual({
      event_type: "batch.completed",
      event_id: "evt_1",
      resource_type: "batch",
      resource_id: "batch_1",
      status: "completed",
      request_counts: { completed: 9, failed: 1, total: 10 },
      output_file_id: "file-out",
      error_file_id: "file-err",
    });
  });

  it("works from the webhook alone without an API key", () => {
    expect(
      batchNotification({ id: "evt_2", type: "batch.expired", created_at: 1, data: { id: "batch_2" } }, null),
    ).toMatchObject({
      status: "expired",
      request_counts: null,
    });
  });
});
