import { describe, expect, it } from "vitest";
import { BatchData, FineTuningJobData, ResponseData } from "./domainData";

describe("the domain data schemas", () => {
  it("keep the fields a handler reads and pass every other field through", () => {
    const job = FineTuningJobData.parse({
      id: "ftjob-1",
      status: "running",
      hyperparameters: { n_epochs: 3 },
    });
    expect(job).toMatchObject({ id: "ftjob-1", status: "running", hyperparameters: { n_epochs: 3 } });
  });

  it("read a field of an unexpected type as absent instead of failing", () => {
    const job = FineTuningJobData.parse({
      id: "ftjob-1",
      model: null,
      trained_tokens: "many",
      error: { code: "x" },
    });
    expect(job.model).toBeUndefined();
    expect(job.trained_tokens).toBeUndefined();
    expect(job.error).toEqual({ code: "x" });
    expect(BatchData.parse({ status: 7, output_file_id: "file-1" })).toMatchObject({
      status: undefined,
      output_file_id: "file-1",
    });
  });

  it("skip response output items and parts that are not objects", () => {
    const r = ResponseData.parse({
      output: [
        null,
        { type: "message", content: "text" },
        { type: "message", content: [1, { type: "output_text", text: "hi" }] },
      ],
    });
    expect(r.output).toEqual([
      {},
      { type: "message", content: undefined },
      { type: "message", content: [{}, { type: "output_text", text: "hi" }] },
    ]);
  });
});
