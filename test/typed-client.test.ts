// examples/typed-client: the client generated from schema.graphql, compiled by tsc, run against the
// real server. Skipped locally when the example is not installed; never under CI=true (.ci/run
// installs and builds it first).
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { promisify } from "node:util";
import { addHuman } from "./helpers/fixtures";
import type { TestApp } from "./helpers/harness";
import { startTestApp } from "./helpers/harness";
import { softAuthenticatorFor } from "./helpers/passkeys";

const EXAMPLE = path.resolve(__dirname, "../examples/typed-client");
const DIST = path.join(EXAMPLE, "dist");
const installed = fs.existsSync(path.join(EXAMPLE, "node_modules"));
const describeExample = installed || process.env.CI === "true" ? describe : describe.skip;

describeExample("typed client example", () => {
  let t: TestApp;
  let organizationId: string;
  beforeAll(async () => {
    if (!fs.existsSync(path.join(DIST, "mint-code.js"))) {
      throw new Error(
        "examples/typed-client is not built: cd examples/typed-client && npm install && npm run build",
      );
    }
    t = await startTestApp();
    organizationId = (await t.ok(`{ me { organizationId } }`)).me.organizationId;
  });
  afterAll(() => t?.close());

  it("mints a code for a user and lists it (spawned node, real HTTP)", async () => {
    const userId = await addHuman(t, organizationId);
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [path.join(DIST, "mint-code.js"), `${t.url}/graphql`, userId],
      { env: { ...process.env, PASSKEY_LINK_TOKEN: t.adminToken }, timeout: 20_000 },
    );
    const output = JSON.parse(stdout);
    expect(output.code).toEqual({ id: expect.any(String), code: expect.any(String) });
    expect(output.code.code).toMatch(/^[A-Za-z0-9]{12}$/);
    expect(output.sequence).toMatch(/^\d+$/);
    expect(output.codes).toEqual([
      {
        id: output.code.id,
        userId,
        state: "ACTIVE",
        medium: "RETURNED",
        createdAt: expect.stringMatching(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/),
        expiresAt: expect.stringMatching(/Z$/),
        delivery: null,
      },
    ]);
  });

  it("fails with the server's error code and a non-zero exit status", async () => {
    const run = promisify(execFile)(
      process.execPath,
      [path.join(DIST, "mint-code.js"), `${t.url}/graphql`, "no-such-user"],
      { env: { ...process.env, PASSKEY_LINK_TOKEN: t.adminToken }, timeout: 20_000 },
    );
    await expect(run).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/NOT_FOUND/),
    });
  });

  it("registers a passkey with the code through the typed registration documents", async () => {
    const userId = await addHuman(t, organizationId);
    const { createClient } = await import(path.join(DIST, "client.js"));
    const { registerPasskeyWithCode } = await import(path.join(DIST, "passkey-registration.js"));
    const { CreatePasskeyRegistrationLinkDocument } = await import(
      path.join(DIST, "generated/graphql.js")
    );
    const admin = createClient({ url: `${t.url}/graphql`, token: t.adminToken });
    const { code } = (
      await admin(CreatePasskeyRegistrationLinkDocument, { input: { userId, returnCode: true } })
    ).createPasskeyRegistrationLink;
    const anonymous = createClient({ url: `${t.url}/graphql` });
    const authenticator = softAuthenticatorFor(t);
    const passkeyId = await registerPasskeyWithCode(
      anonymous,
      { userId, codeId: code.id, code: code.code },
      (options: { publicKey: Parameters<typeof authenticator.create>[0] }) =>
        Promise.resolve(authenticator.create(options.publicKey)),
      "Typed client passkey",
    );
    const { passkeys } = await t.ok(
      `query($userId: ID!) { passkeys(userId: $userId) { id name } }`,
      {
        userId,
      },
    );
    expect(passkeys).toEqual([{ id: passkeyId, name: "Typed client passkey" }]);
  });
});
