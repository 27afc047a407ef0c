import type { Command } from "../command";

/** Every command of the CLI; each lives in its own file in this folder. */
export const COMMANDS: Command[] = [];
