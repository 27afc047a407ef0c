/**
 * docs/architecture.md is the newcomer's map of the system: it must name every durable
 * consumer and every service of the catalog, every stream of the topology and every
 * variable a service reads. This fails when one is added in code and not in the map.
 */
import { readFileSync } from "node:fs";
import { AdminConfigSchema } from "@hookstream/admin";
import { AuditConfigSchema } from "@hookstream/audit";
import { CONSUMERS, makeTopology, SERVICES } from "@hookstream/contracts";
import { deliveryEnv } from "@hookstream/delivery";
import { FineTuneConfigSchema } from "@hookstream/fine-tune";
import { GatewayConfig } from "@hookstream/gateway";
import { handlerConfigSchema } from "@hookstream/handler-kit";
import { serviceConfigSchema } from "@hookstream/runtime";
import { describe, expect, it } from "vitest";

const doc = readFileSync(new URL("../docs/architecture.md", import.meta.url), "utf8");

/** Names the document does not write in code style (`name`). */
function missing(names: Iterable<string>): string[] {
  return [...new Set(names)].filter((n) => !doc.includes(`\`${n}\``));
}

/** The variables of a service's zod config schema (a z.object under its ZodType). */
function variablesOf(schema: unknown): string[] {
  const shape = (schema as { shape?: Record<string, unknown> }).shape;
  if (!shape)
    throw new Error("a service's config schema is no longer a z.object: read its variables another way");
  // the `<SERVICE>_HOST` override of each service is documented once, as a pattern
  return Object.keys(shape).filter((v) => !/_HOST$/.test(v) || v === "HTTP_HOST");
}

describe("docs/architecture.md", () => {
  it("names every durable consumer of the catalog", () => {
    expect(missing(Object.keys(CONSUMERS))).toEqual([]);
  });

  it("names every service of the catalog with its port variable", () => {
    expect(missing(Object.keys(SERVICES))).toEqual([]);
    expect(missing(Object.values(SERVICES).map((s) => s.portVar))).toEqual([]);
  });

  it("names every stream of the topology", () => {
    const streams = Object.values(makeTopology("").streams);
    expect(streams.filter((s) => !new RegExp(`\\b${s}\\b`).test(doc))).toEqual([]);
  });

  it("names every variable a service reads", () => {
    const variables = [
      GatewayConfig,
      AuditConfigSchema,
      AdminConfigSchema,
      FineTuneConfigSchema,
      handlerConfigSchema("batch"),
      serviceConfigSchema("delivery", deliveryEnv),
    ].flatMap(variablesOf);
    expect(variables.length).toBeGreaterThan(40);
    expect(missing(variables)).toEqual([]);
  });
});
