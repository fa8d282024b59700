import { createTracingClient } from "@azure/core-tracing";
import { packageName, packageVersion } from "./constants.js";

/** Creates the spans `SecretClient.<method>` in namespace `Microsoft.KeyVault`. */
export const tracingClient = createTracingClient({
  namespace: "Microsoft.KeyVault",
  packageName,
  packageVersion,
});
