export * from "./command";
export { main } from "./main";
export { type CliRun, runCli } from "./runCli";
