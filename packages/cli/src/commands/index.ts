import type { Command } from "../command";
import { dlqList, dlqReplay } from "./dlq";
import { replay } from "./replay";

/** Every command of the CLI; each lives in its own file in this folder. */
export const COMMANDS: Command[] = [dlqList, dlqReplay, replay];
