// The one-way floors of STYLE.md hold: the lint rule passes the tree and fails a wrong-way import.
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import { Linter } from "eslint";
import type { ESLint } from "eslint";
import tseslint from "typescript-eslint";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const layers = require("../eslint/layers.cjs") as ESLint.Plugin;

const root = path.join(__dirname, "..");

function lint(file: string, code: string): Promise<string[]> {
  const linter = new Linter({ cwd: root });
  const messages = linter.verify(
    code,
    [
      {
        files: ["**/*.ts"],
        plugins: { layers },
        settings: { layersRoot: root },
        languageOptions: { parser: tseslint.parser },
        rules: { "layers/one-way": "error" },
      },
    ],
    { filename: path.join(root, file) },
  );
  return Promise.resolve(messages.map((m) => m.message));
}

describe("one-way floors", () => {
  it("refuses mail/ importing a service", async () => {
    const messages = await lint(
      "src/mail/outbox.service.ts",
      'import type { PasskeyService } from "../services/passkeys/passkey.service";\nexport type X = PasskeyService;\n',
    );
    expect(messages).toEqual([
      expect.stringContaining("src/mail must not import src/services/passkeys"),
    ]);
  });

  it("refuses config importing core, and core importing a feature", async () => {
    expect(
      await lint("src/config/index.ts", 'export { systemClock } from "../core/clock";\n'),
    ).toHaveLength(1);
    expect(
      await lint(
        "src/core/clock.ts",
        'import type { UserService } from "../services/identity/user.service";\nexport type U = UserService;\n',
      ),
    ).toHaveLength(1);
  });

  it("refuses two feature folders importing each other", async () => {
    expect(
      await lint(
        "src/services/identity/user.service.ts",
        'import type { PasskeyLinkService } from "../links/passkey-link.service";\nexport type L = PasskeyLinkService;\n',
      ),
    ).toHaveLength(1);
  });

  it("refuses API types that import entities", async () => {
    expect(
      await lint(
        "src/resolvers/types/identity.types.ts",
        'import type { UserEntity } from "../../entities/user.entity";\nexport type U = UserEntity;\n',
      ),
    ).toEqual([expect.stringContaining("map from service results")]);
  });

  it("refuses a file at the top of services/", async () => {
    expect(await lint("src/services/helper.ts", "export const x = 1;\n")).toHaveLength(1);
  });

  it("runs in npm run lint: the project's ESLint config fails a wrong-way import", async () => {
    const eslint = path.join(root, "node_modules/eslint/bin/eslint.js");
    const run = promisify(execFile)(
      process.execPath,
      [eslint, "--stdin", "--stdin-filename", "src/mail/outbox.worker.ts", "--format", "json"],
      { cwd: root },
    );
    run.child.stdin?.end('export { UserService } from "../services/identity/user.service";\n');
    const out = await run.then(
      () => "",
      (error: { stdout: string }) => error.stdout,
    );
    const [result] = JSON.parse(out) as { messages: { ruleId: string }[] }[];
    expect(result?.messages.map((m) => m.ruleId)).toContain("layers/one-way");
  }, 120_000);

  it("passes downward imports", async () => {
    expect(
      await lint(
        "src/services/links/passkey-link.service.ts",
        'import type { UserService } from "../identity/user.service";\nimport type { Clock } from "../../core/clock";\nexport type X = [UserService, Clock];\n',
      ),
    ).toEqual([]);
  });
});
