export { buildApp, type GatewayDeps } from "./app";
export { effectiveBodyLimit, GatewayConfig } from "./config";
export { gatewayService } from "./gatewayService";
export { type Gateway, startGateway } from "./startGateway";
export { decodeSecrets, type VerifyResult, verifySignature } from "./verifySignature";
