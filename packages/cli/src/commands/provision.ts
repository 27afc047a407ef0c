import { parseArgs } from "node:util";
import { commonEnv, parseConfig } from "@hookstream/config";
import { makeTopology } from "@hookstream/contracts";
import {
  connectNats,
  describeStreamProblem,
  natsSecurityFromEnv,
  provisionStreams,
  streamOptionsFromEnv,
  streamProblems,
} from "@hookstream/messaging";
import { jetstreamManager } from "@nats-io/jetstream";
import { pino } from "pino";
import { z } from "zod";
import { CliError, type Command } from "../command";

const USAGE = `hookstream provision [--check] [--json]
  Creates every stream and KV bucket that is missing and brings every existing one
  to the stream settings (STREAM_REPLICAS, WEBHOOK_DUPLICATE_WINDOW_MS, WEBHOOK_MAX_AGE_MS,
  OUTCOMES_MAX_AGE_MS, DLQ_MAX_AGE_MS, FINE_TUNING_MAX_AGE_MS, FINE_TUNING_MAX_PER_JOB,
  HOOKSTREAM_NAMESPACE), connecting as NATS_URL says (the \`admin\` NATS user in
  production: no long-running service may create or update a stream).
  --check only compares: exit 1 when a stream is missing or differs.`;

export const provision: Command = {
  name: "provision",
  usage: USAGE,
  async run(args, ctx) {
    let values: { check?: boolean; json?: boolean };
    try {
      values = parseArgs({ args, options: { check: { type: "boolean" }, json: { type: "boolean" } } }).values;
    } catch (err) {
      throw new CliError(`${(err as Error).message}\n${USAGE}`, 2);
    }
    let config: z.infer<z.ZodObject<typeof commonEnv>>;
    try {
      config = parseConfig(z.object(commonEnv), ctx.env);
    } catch (err) {
      throw new CliError((err as Error).message, 2);
    }
    const topology = makeTopology(config.HOOKSTREAM_NAMESPACE);
    const opts = streamOptionsFromEnv(config);
    const nc = await connectNats({
      servers: config.NATS_URL,
      name: "hookstream-provision",
      logger: pino({ level: "silent" }),
      connectTimeoutMs: 10_000,
      ...natsSecurityFromEnv(config),
    }).catch((err: unknown) => {
      throw new CliError(`cannot connect to NATS at ${config.NATS_URL.join(",")}: ${(err as Error).message}`);
    });
    try {
      const jsm = await jetstreamManager(nc, { timeout: 10_000 });
      if (values.check) {
        const problems = await streamProblems(jsm, topology, opts);
        if (values.json) ctx.out.write(`${JSON.stringify({ problems }, null, 2)}\n`);
        else if (problems.length === 0) ctx.out.write("every stream is as the settings give it\n");
        for (const p of problems) ctx.err.write(`${describeStreamProblem(topology, p)}\n`);
        return problems.length === 0 ? 0 : 1;
      }
      const results = await provisionStreams(jsm, topology, opts).catch((err: unknown) => {
        throw new CliError(
          `provisioning failed: ${(err as Error).message} (the NATS user needs STREAM.CREATE and STREAM.UPDATE: the \`admin\` user)`,
        );
      });
      if (values.json) {
        ctx.out.write(`${JSON.stringify({ streams: results }, null, 2)}\n`);
        return 0;
      }
      for (const r of results) {
        const changed = Object.keys(r.diff)
          .map((k) => `${k} ${JSON.stringify(r.diff[k]?.live)} → ${JSON.stringify(r.diff[k]?.wanted)}`)
          .join(", ");
        ctx.out.write(`${r.stream.padEnd(28)} ${r.action}${changed ? ` (${changed})` : ""}\n`);
      }
      return 0;
    } finally {
      await nc.close().catch(() => undefined);
    }
  },
};
