export * from "./command";
export { COMMANDS, type CommandEntry } from "./commands/index";
export { main, version } from "./main";
export { type CliRun, runCli } from "./runCli";
