import { DlqHeader, NotificationHeader } from "@hookstream/contracts";
import {
  createTestDatabase,
  deleteStreams,
  eventBody,
  eventually,
  FakeOpenAI,
  freePort,
  publishEvent,
  ServiceProcess,
  testTopology,
} from "@hookstream/testing";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { afterAll, describe, expect, inject, it } from "vitest";

const natsUrl = inject("natsUrl");
const nc = await connect({ servers: natsUrl.split(",") });
const jsm = await jetstreamManager(nc);
const js = jetstream(nc);
const fake = await FakeOpenAI.start();
const cleanups: Array<() => Promise<unknown>> = [];

afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  await fake.close();
  await nc.close();
});

/**
 * The notifications the handler published for an event (stream NOTIFICATIONS, which
 * the delivery service sends on): the handler's side effect, counted where it lands.
 */
async function notificationsOf(topology: ReturnType<typeof testTopology>, id: string): Promise<number> {
  const info = await jsm.streams.info(topology.streams.notifications);
  let n = 0;
  for (let seq = info.state.first_seq; info.state.messages > 0 && seq <= info.state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(topology.streams.notifications, { seq }).catch(() => null);
    if (m?.header.get(NotificationHeader.EventId) === id) n++;
  }
  return n;
}

/** A fresh namespace and database, and a way to run the real service process against them. */
async function setup(label: string, env: Record<string, string>) {
  const topology = testTopology(label);
  const db = await createTestDatabase(inject("databaseUrl"), label);
  cleanups.push(
    () => db.drop(),
    () => deleteStreams(jsm, topology),
  );
  const start = async () => {
    const port = await freePort();
    const p = new ServiceProcess({
      service: "fine-tuning-handler",
      port,
      env: {
        NATS_URL: natsUrl,
        DATABASE_URL: db.url,
        HOOKSTREAM_NAMESPACE: topology.namespace,
        FINE_TUNING_HANDLER_PORT: String(port),
        OPENAI_API_KEY: "sk-test",
        OPENAI_BASE_URL: fake.baseURL,
        HANDLER_ACK_WAIT_MS: "1500",
        HANDLER_BASE_DELAY_MS: "100",
        LOG_LEVEL: "warn",
        ...env,
      },
    });
    cleanups.push(async () => p.kill());
    await p.ready();
    return p;
  };
  return { topology, start };
}

describe("a handler process killed mid-work", () => {
  it("gets the message back after the ack wait and publishes exactly one notification", async () => {
    const { topology, start } = await setup("ftkill", { HANDLER_MAX_DELIVER: "5" });
    const path = "/v1/fine_tuning/jobs/ftjob-kill";
    fake.fineTuningJob("ftjob-kill", { status: "succeeded", fine_tuned_model: "ft:kill" });
    fake.setDelay(10_000);
    const first = await start();
    const body = eventBody("fine_tuning.job.succeeded", { data: { id: "ftjob-kill" } });
    const id = JSON.parse(body).id;
    await publishEvent(js, topology, body);
    await eventually(() => fake.count(path) >= 1, { message: "the handler to be mid-work" });
    first.kill("SIGKILL");
    await first.exit;
    fake.setDelay(0);

    await start();
    await eventually(async () => (await notificationsOf(topology, id)) > 0, {
      message: "the notification after the restart",
    });
    await eventually(
      async () => (await jsm.consumers.info(topology.streams.webhooks, "fine-tuning")).num_ack_pending === 0,
    );
    expect(await notificationsOf(topology, id)).toBe(1);
    expect(fake.count(path)).toBe(2);
  });
});

describe("a handler process that dies on the last delivery", () => {
  it("still dead-letters the message, from the server's MAX_DELIVERIES advisory", async () => {
    const { topology, start } = await setup("ftadv", { HANDLER_MAX_DELIVER: "1" });
    fake.fineTuningJob("ftjob-last", { status: "running" });
    fake.setDelay(10_000);
    const first = await start();
    const body = eventBody("fine_tuning.job.succeeded", { data: { id: "ftjob-last" } });
    const id = JSON.parse(body).id;
    await publishEvent(js, topology, body);
    await eventually(() => fake.count("/v1/fine_tuning/jobs/ftjob-last") >= 1, {
      message: "the handler to be mid-work",
    });
    first.kill("SIGKILL");
    await first.exit;
    fake.setDelay(0);

    await start();
    const dead = await eventually(
      async () => {
        const info = await jsm.streams.info(topology.streams.dlq);
        if (info.state.messages === 0) return undefined;
        return jsm.streams.getMessage(topology.streams.dlq, { seq: info.state.first_seq });
      },
      { message: "a dead letter from the advisory" },
    );
    expect(dead!.header.get(DlqHeader.EventId)).toBe(id);
    expect(dead!.header.get(DlqHeader.Error)).toContain("exhausted");
    expect(new TextDecoder().decode(dead!.data)).toBe(body);
    expect(await notificationsOf(topology, id)).toBe(0);
  });
});
