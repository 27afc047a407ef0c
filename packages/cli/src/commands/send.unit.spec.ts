import { describe, expect, it } from "vitest";
import { gatewayUrl } from "./send";

describe("GATEWAY_URL", () => {
  it("takes a base URL, as npm start writes it, and adds the provider's route", () => {
    expect(gatewayUrl("http://127.0.0.1:13000", "openai")).toBe("http://127.0.0.1:13000/webhooks/openai");
    expect(gatewayUrl("http://127.0.0.1:13000/", "acme")).toBe("http://127.0.0.1:13000/webhooks/acme");
    expect(gatewayUrl("https://hooks.example.com/in", "openai")).toBe(
      "https://hooks.example.com/in/webhooks/openai",
    );
  });

  it("takes the full route too, and swaps its provider", () => {
    expect(gatewayUrl("http://127.0.0.1:3000/webhooks/openai", "openai")).toBe(
      "http://127.0.0.1:3000/webhooks/openai",
    );
    expect(gatewayUrl("http://127.0.0.1:3000/webhooks/openai", "acme")).toBe(
      "http://127.0.0.1:3000/webhooks/acme",
    );
  });

  it("gives an OpenAI project its pinned route", () => {
    expect(gatewayUrl("http://127.0.0.1:13000", "openai", "research")).toBe(
      "http://127.0.0.1:13000/webhooks/openai/research",
    );
    expect(gatewayUrl("http://127.0.0.1:3000/webhooks/openai", "openai", "research")).toBe(
      "http://127.0.0.1:3000/webhooks/openai/research",
    );
  });

  it("defaults to the local gateway", () => {
    expect(gatewayUrl(undefined, "openai")).toBe("http://127.0.0.1:3000/webhooks/openai");
  });
});
