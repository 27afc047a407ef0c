export { buildApp, type GatewayDeps, PublishTimeoutError } from "./app";
export { effectiveBodyLimit, GatewayConfig } from "./config";
export { FailureLimiter } from "./failureLimiter";
export { type Gateway, startGateway } from "./startGateway";
export { decodeSecrets, type VerifyResult, verifySignature } from "./verifySignature";
