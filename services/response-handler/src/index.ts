export * from "./responseHandler";
