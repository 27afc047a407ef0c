export { fineTuningHandler } from "./fineTuningHandler";
export * from "./fineTuningJob";
