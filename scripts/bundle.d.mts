/** The ESM entry points of the package (its `exports` and `bin`), relative to the ESM directory. */
export declare const esmEntryPoints: string[];

/**
 * Bundles `entryPoints` of the compiled ESM in `directory` in place (shared code in `chunks/`) and,
 * unless `prune` is false, deletes the compiled modules the bundles replace.
 */
export declare function bundleEsm(
  directory: string,
  entryPoints?: string[],
  options?: { prune?: boolean },
): void;
