import { createClientLogger } from "@azure/logger";

/**
 * The logger of this package (namespace `keyvault-secrets`). Enable it with
 * `AZURE_LOG_LEVEL=verbose` or `setLogLevel` from `@azure/logger`.
 */
export const logger = createClientLogger("keyvault-secrets");
