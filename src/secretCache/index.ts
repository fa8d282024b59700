// The public surface of SecretCache; src/index.ts re-exports it by name.
export {
  SecretCache,
  type SecretCacheFreshness,
  type SecretCacheLoadResult,
  type SecretCacheOperationOptions,
} from "./secretCache.js";
export {
  type SecretCacheChange,
  type SecretCacheChangeDetail,
  type SecretCacheChangeReason,
  type SecretCacheSkippedSecret,
} from "./changes.js";
export { SecretCacheError, type SecretCacheFailure } from "./errors.js";
export { type SecretCacheEventResult } from "./eventRefresh.js";
export {
  createEventGridHandler,
  type EventGridHandlerOptions,
  type EventGridRequestHandler,
} from "./eventGridHandler.js";
export {
  type SecretCacheClient,
  type SecretCacheOptions,
  type SecretCacheTagFilter,
} from "./options.js";
export {
  EnvironmentKeyCollisionError,
  toEnvironmentKey,
  type ApplyToProcessEnvOptions,
  type ApplyToProcessEnvResult,
  type EnvironmentKeyCollision,
  type EnvironmentKeyRefusal,
  type ToEnvOptions,
} from "./environment.js";
