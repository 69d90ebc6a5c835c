// Two projects run the same suite: against a fresh MariaDB database and against a SQLite file.
/** @type {import('jest').Config} */
const project = (name) => ({
  displayName: name,
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  setupFiles: [`<rootDir>/test/setup/${name}.ts`],
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.json" }] },
});

module.exports = {
  projects: [project("sqlite"), project("mariadb")],
  globalSetup: "<rootDir>/test/setup/global-setup.js",
  maxWorkers: 2,
  testTimeout: 30000,
};
