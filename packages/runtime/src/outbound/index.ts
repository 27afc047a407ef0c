export { maskUrl } from "./maskUrl";
export {
  MAX_RESPONSE_BYTES,
  type OutboundFailure,
  type OutboundRequest,
  type OutboundResult,
  postOutbound,
} from "./postOutbound";
