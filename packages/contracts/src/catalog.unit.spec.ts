import { describe, expect, it } from "vitest";
import { CONSUMERS, handlerServiceName, natsRoles, SERVICE_NAMES, SERVICES } from "./catalog";
import { HANDLER_NAMES, handlerForType, UNHANDLED_EVENT_TYPE } from "./handlers";

const duplicates = (values: unknown[]) => values.filter((v, i) => values.indexOf(v) !== i);

describe("the catalog", () => {
  it("gives every service its own port, port variable and NATS user", () => {
    const specs = SERVICE_NAMES.map((s) => SERVICES[s]);
    expect(duplicates(specs.map((s) => s.defaultPort))).toEqual([]);
    expect(duplicates(specs.map((s) => s.portVar))).toEqual([]);
    expect(duplicates(natsRoles().map((r) => r.user))).toEqual([]);
  });

  it("builds a service and four durables for every handler of the list", () => {
    for (const h of HANDLER_NAMES) {
      const service = SERVICES[handlerServiceName(h)];
      expect(service.handler).toBe(h);
      expect(service.durables).toEqual([h, `${h}-replay`, `${h}-advisories`, `${h}-replay-advisories`]);
      for (const d of service.durables) expect(CONSUMERS).toHaveProperty([d]);
    }
  });

  it("binds every durable to exactly one service", () => {
    const bound = SERVICE_NAMES.flatMap((s) => [...SERVICES[s].durables]);
    expect(duplicates(bound)).toEqual([]);
    expect(bound.sort()).toEqual(Object.keys(CONSUMERS).sort());
  });

  it("has an event type no handler takes", () => {
    expect(handlerForType(UNHANDLED_EVENT_TYPE)).toBeNull();
  });
});
