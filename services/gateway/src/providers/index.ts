export { type EventIdentity, eventOf } from "./eventOf";
export { providersVar } from "./providerConfig";
export {
  decodeStandardSecrets,
  type OpenAIRoutes,
  openaiRoutes,
  type Provider,
  type ProviderSources,
  providerTable,
} from "./providers";
