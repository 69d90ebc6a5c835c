// Lint configuration: typescript-eslint's type-aware recommended rules; Prettier owns formatting.
import js from "@eslint/js";
import tseslint from "typescript-eslint";
import layers from "./eslint/layers.cjs";

export default tseslint.config(
  {
    ignores: [
      "dist/**",
      "node_modules/**",
      "data/**",
      "coverage/**",
      "*.config.*js",
      "eslint/*.cjs",
      "test/setup/*.js",
      // Its own package and toolchain: strict tsc there checks it (test/typed-client.test.ts runs it).
      "examples/**",
    ],
  },
  js.configs.recommended,
  {
    // STYLE.md's floors: every import in src/ points down (eslint/layers.cjs).
    files: ["src/**/*.ts"],
    plugins: { layers },
    settings: { layersRoot: import.meta.dirname },
    rules: { "layers/one-way": "error" },
  },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      "@typescript-eslint/consistent-type-imports": [
        "error",
        { fixStyle: "separate-type-imports" },
      ],
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", ignoreRestSiblings: true },
      ],
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": [
        "error",
        { checksVoidReturn: { arguments: false } },
      ],
    },
  },
  {
    files: ["test/**/*.ts", "bench/**/*.ts"],
    rules: {
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-return": "off",
      "@typescript-eslint/no-non-null-assertion": "off",
      "@typescript-eslint/no-explicit-any": "off",
      "@typescript-eslint/require-await": "off",
    },
  },
  {
    // The registration page's browser script: plain JavaScript, no build step, no types.
    files: ["src/ui/assets/**/*.js"],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: "script",
      globals: {
        window: "readonly",
        document: "readonly",
        navigator: "readonly",
        location: "readonly",
        fetch: "readonly",
        URL: "readonly",
        URLSearchParams: "readonly",
        SimpleWebAuthnBrowser: "readonly",
      },
    },
  },
);
