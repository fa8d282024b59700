/** The version of this package, sent in the User-Agent header and on tracing spans. */
export const packageVersion = "0.1.0";
/** The name of this package, as on npm. */
export const packageName = "keyvault-secrets";
