import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  {
    ignores: [
      "dist/**",
      "coverage/**",
      "node_modules/**",
      "review/**",
      "docs/**",
      "bench/results/**",
      "temp/**",
    ],
  },
  js.configs.recommended,
  { languageOptions: { globals: { ...globals.node } } },
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_" },
      ],
      // Per-method option bags extend OperationOptions with nothing yet, as in 4.x; they are public names.
      "@typescript-eslint/no-empty-object-type": [
        "error",
        { allowInterfaces: "with-single-extends" },
      ],
      "no-throw-literal": "error",
      "prefer-const": "error",
      eqeqeq: ["error", "smart"],
    },
  },
  {
    // Type-aware rules over every TypeScript file of tsconfig.json: a promise is awaited, returned
    // or handed to something that handles its rejection, never dropped.
    files: ["**/*.ts"],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      "@typescript-eslint/await-thenable": "error",
      "@typescript-eslint/only-throw-error": "error",
      // Passing on a caught `unknown` is fine; rejecting with a made-up non-Error is not.
      "@typescript-eslint/prefer-promise-reject-errors": ["error", { allowThrowingUnknown: true }],
      "@typescript-eslint/return-await": ["error", "in-try-catch"],
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
    // The page's script runs in the browser, served as its own text: browser globals, and nothing
    // from another module but types (an import would be missing where it runs).
    files: ["src/emulator/page/pageScript.ts"],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      "no-restricted-syntax": [
        "error",
        {
          selector: "ImportDeclaration[importKind!='type']",
          message: "The page's script is served as its own text: import types only.",
        },
      ],
    },
  },
  {
    files: ["src/emulator/cli/cli.ts", "src/emulator/bin.ts"],
    rules: { "no-console": "off" },
  },
);
