import type { Command } from "../command";
import { dlqList, dlqReplay } from "./dlq";
import { erase } from "./erase";
import { events } from "./events";
import { job, jobs, projectionsRebuild } from "./jobs";
import { replay } from "./replay";
import { send } from "./send";
import { stats } from "./stats";

/** Every command of the CLI; each lives in its own file in this folder. */
export const COMMANDS: Command[] = [
  send,
  events,
  stats,
  dlqList,
  dlqReplay,
  replay,
  erase,
  jobs,
  job,
  projectionsRebuild,
];
