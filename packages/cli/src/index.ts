export * from "./command";
export { COMMANDS, type CommandEntry } from "./commands/index";
export { withDevEnv } from "./devEnv";
export { main, version } from "./main";
export { type CliRun, runCli } from "./runCli";
