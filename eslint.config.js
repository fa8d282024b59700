import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/**", "coverage/**", "node_modules/**", "review/**", "docs/**", "bench/results/**"] },
  js.configs.recommended,
  { languageOptions: { globals: { ...globals.node } } },
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      // Per-method option bags extend OperationOptions with nothing yet, as in 4.x; they are public names.
      "@typescript-eslint/no-empty-object-type": ["error", { allowInterfaces: "with-single-extends" }],
      "no-throw-literal": "error",
      "prefer-const": "error",
      eqeqeq: ["error", "smart"],
    },
  },
  {
    files: ["src/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: ["@azure/keyvault-secrets", "@azure/keyvault-common"] },
      ],
      "no-console": "error",
    },
  },
  {
    files: ["src/emulator/cli.ts", "src/emulator/bin.ts"],
    rules: { "no-console": "off" },
  },
);
