import type { Command } from "../command";

/** A command as `hookstream help` lists it; its code is loaded only when it runs. */
export interface CommandEntry {
  name: string;
  /** one line, shown by `hookstream help` */
  summary: string;
  load(): Promise<Command>;
}

/**
 * Every command of the CLI; each lives in its own file in this folder and is
 * imported on use (a chunk of its own in the build), so `hookstream --help` and one
 * command load only what they need. A new command is one entry here: `--help` (its
 * usage), "did you mean", and its group's listing (`hookstream dlq` for `dlq list`)
 * come from main.ts; tests/cliHelp.spec.ts walks this list and holds each command to
 * a usage and a `--json`.
 */
export const COMMANDS: CommandEntry[] = [
  {
    name: "send",
    summary: "sign a test webhook like OpenAI and POST it to the gateway",
    load: () => import("./send").then((m) => m.send),
  },
  {
    name: "events",
    summary: "list audited events (filters: --status, --type, --provider, --limit)",
    load: () => import("./events").then((m) => m.events),
  },
  {
    name: "tail",
    summary: "follow the events stream live (filters: --type, --provider)",
    load: () => import("./tail").then((m) => m.tail),
  },
  {
    name: "stats",
    summary: "count audited events by status and by type",
    load: () => import("./stats").then((m) => m.stats),
  },
  {
    name: "dlq list",
    summary: "list dead-lettered messages (filters: --handler, --type, --since)",
    load: () => import("./dlq").then((m) => m.dlqList),
  },
  {
    name: "dlq replay",
    summary: "redrive dead letters to their handler or destination (filters: --handler, --type, --since)",
    load: () => import("./dlq").then((m) => m.dlqReplay),
  },
  {
    name: "replay",
    summary: "replay one event, or every event matching a filter, to a handler",
    load: () => import("./replay").then((m) => m.replay),
  },
  {
    name: "erase",
    summary: "erase one event or one resource from every store (--dry-run counts)",
    load: () => import("./erase").then((m) => m.erase),
  },
  {
    name: "jobs",
    summary: "list fine-tuning jobs (filters: --status, --model, --limit)",
    load: () => import("./jobs").then((m) => m.jobs),
  },
  {
    name: "job",
    summary: "show one fine-tuning job and its history",
    load: () => import("./jobs").then((m) => m.job),
  },
  {
    name: "destinations",
    summary: "list destinations: state, pending, success rate, p99, last error",
    load: () => import("./destinations").then((m) => m.destinations),
  },
  {
    name: "destinations pause",
    summary: "pause a destination on every instance: its events wait, nothing is dead-lettered",
    load: () => import("./destinations").then((m) => m.destinationsPause),
  },
  {
    name: "destinations resume",
    summary: "deliver to a paused destination again, in order",
    load: () => import("./destinations").then((m) => m.destinationsResume),
  },
  {
    name: "destinations test",
    summary: "send one signed test event to a destination now and print its answer",
    load: () => import("./destinations").then((m) => m.destinationsTest),
  },
  {
    name: "provision",
    summary: "create or update every stream from the stream settings (one-shot, the admin NATS user)",
    load: () => import("./provision").then((m) => m.provision),
  },
  {
    name: "projections rebuild",
    summary: "rebuild a projection from its stream (fine-tune)",
    load: () => import("./jobs").then((m) => m.projectionsRebuild),
  },
];
