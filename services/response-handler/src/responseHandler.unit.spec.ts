import { describe, expect, it } from "vitest";
import { EXCERPT_CHARS, outputText, responseNotification } from "./responseHandler";

const event = { id: "evt_1", type: "response.completed", created_at: 1, data: { id: "resp_1" } };

describe("responseNotification", () => {
  it("gives the status and the start of the output text", () => {
    const response = {
      status: "completed",
      output: [{ type: "message", content: [{ type: "output_text", text: "a".repeat(500) }] }],
    };
    const n = responseNotification(event, response);
    expect(n).toMatchObject({ event_type: "response.completed", resource_id: "resp_1", status: "completed" });
    expect(n.output_excerpt).toHaveLength(EXCERPT_CHARS);
    expect(n.output_excerpt.endsWith("…")).toBe(true);
  });

  it("joins the text parts of every output message, skipping other items", () => {
    expect(
      outputText({
        output: [
          { type: "reasoning", summary: [] },
          {
            type: "message",
            content: [
              { type: "output_text", text: "Hello, " },
              { type: "refusal", refusal: "x" },
            ],
          },
          { type: "message", content: [{ type: "output_text", text: "world" }] },
        ],
      }),
    ).toBe("Hello, world");
  });

  it("falls back to the event type's status without the API", () => {
    expect(responseNotification({ ...event, type: "response.incomplete" }, null)).toMatchObject({
      status: "incomplete",
      output_excerpt: "",
    });
  });
});
