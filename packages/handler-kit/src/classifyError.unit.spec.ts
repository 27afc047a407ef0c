import { PermanentError, RetryableError } from "@hookstream/messaging";
import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { classifyOpenAIError } from "./classifyError";

function apiError(status: number) {
  return OpenAI.APIError.generate(
    status,
    { error: { message: `status ${status}` } },
    undefined,
    new Headers(),
  );
}

describe("classifyOpenAIError", () => {
  it.each([429, 500, 502, 503, 408])("makes %i retryable", (status) => {
    expect(classifyOpenAIError(apiError(status), "fetch")).toBeInstanceOf(RetryableError);
  });

  it.each([400, 401, 403, 404, 422])("makes %i permanent", (status) => {
    expect(classifyOpenAIError(apiError(status), "fetch")).toBeInstanceOf(PermanentError);
  });

  it("makes timeouts and network errors retryable", () => {
    expect(classifyOpenAIError(new OpenAI.APIConnectionTimeoutError(), "fetch")).toBeInstanceOf(
      RetryableError,
    );
    expect(
      classifyOpenAIError(new OpenAI.APIConnectionError({ message: "ECONNREFUSED" }), "fetch"),
    ).toBeInstanceOf(RetryableError);
  });

  it("keeps the cause and says what failed", () => {
    const original = apiError(404);
    const err = classifyOpenAIError(original, "retrieve batch");
    expect(err.message).toContain("retrieve batch");
    expect(err.cause).toBe(original);
  });
});
