// ZITADEL's user v2 RegisterPasskey / VerifyPasskeyRegistration routes: the same service as
// GraphQL, ZITADEL's JSON and error body, no token needed with a code.
import { actor, addHuman, addOrg } from "./helpers/fixtures";
import type { TestApp } from "./helpers/harness";
import { startTestApp } from "./helpers/harness";
import { LIST_PASSKEYS, returnedCode, softAuthenticatorFor } from "./helpers/passkeys";
import { expectRestError, post } from "./helpers/rest-client";

let t: TestApp;
let org: string;

beforeAll(async () => {
  t = await startTestApp();
  org = await addOrg(t);
});
afterAll(() => t.close());

const register = (userId: string, body: unknown, token: string | null = null) =>
  post(t, `/v2/users/${userId}/passkeys`, body, { token });
const verify = (userId: string, passkeyId: string, body: unknown, token: string | null = null) =>
  post(t, `/v2/users/${userId}/passkeys/${passkeyId}`, body, { token });

it("registers a passkey with a code and no token, in ZITADEL's JSON", async () => {
  const userId = await addHuman(t, org);
  const code = await returnedCode(t, userId);
  const opened = await register(userId, {
    code,
    authenticator: "PASSKEY_AUTHENTICATOR_PLATFORM",
    domain: "localhost",
  });
  expect(opened.status).toBe(200);
  expect(opened.body.details).toEqual({
    sequence: expect.stringMatching(/^\d+$/),
    changeDate: expect.stringMatching(/Z$/),
    resourceOwner: org,
  });
  const { publicKey } = opened.body.publicKeyCredentialCreationOptions;
  expect(publicKey.rp.id).toBe("localhost");
  expect(publicKey.authenticatorSelection).toMatchObject({
    authenticatorAttachment: "platform",
    residentKey: "required",
    userVerification: "required",
  });
  expect(publicKey.pubKeyCredParams.length).toBeGreaterThan(0);

  // Keys inside the credential are passed through as the browser wrote them.
  const credential = softAuthenticatorFor(t).create(publicKey);
  const verified = await verify(userId, opened.body.passkeyId, {
    publicKeyCredential: credential,
    passkeyName: "Phone",
  });
  expect(verified.status).toBe(200);
  expect(verified.body.details.resourceOwner).toBe(org);
  const listed = (await t.ok(LIST_PASSKEYS, { userId })).passkeys;
  expect(listed).toMatchObject([{ id: opened.body.passkeyId, name: "Phone" }]);
});

it("answers ZITADEL's errors: wrong code 400, used code 400 (code 9), missing user with a code like a wrong code (400), no code and no token 401, replay 400", async () => {
  const userId = await addHuman(t, org);
  const code = await returnedCode(t, userId);
  expectRestError(
    await register(userId, { code: { id: code.id, code: "wrongwrongxx" } }),
    400,
    3,
    "CODE-invalid",
  );
  expectRestError(
    await register("0190b1a2-0000-7000-8000-000000000000", { code }),
    400,
    3,
    "CODE-invalid",
  );
  expectRestError(await register(userId, {}), 401, 16, "AUTH-required");
  const admin = await register(userId, {}, t.adminToken);
  expectRestError(admin, 403, 7, "PASSKEY-code-required");

  const opened = await register(userId, { code });
  const credential = softAuthenticatorFor(t).create(
    opened.body.publicKeyCredentialCreationOptions.publicKey,
  );
  const body = { publicKeyCredential: credential, passkeyName: "Key" };
  expect((await verify(userId, opened.body.passkeyId, body)).status).toBe(200);
  expectRestError(
    await verify(userId, opened.body.passkeyId, body),
    400,
    9,
    "PASSKEY-registration-ended",
  );
  expectRestError(await register(userId, { code }), 400, 9, "CODE-used");
  expectRestError(
    await verify(userId, opened.body.passkeyId, { passkeyName: "x" }),
    400,
    3,
    "REST-invalid-request",
  );
});

it("lets a signed-in user register for itself without a code", async () => {
  const self = await actor(t, org);
  const opened = await register(self.userId, { authenticator: null }, self.token);
  expect(opened.status).toBe(200);
  const credential = softAuthenticatorFor(t).create(
    opened.body.publicKeyCredentialCreationOptions.publicKey,
  );
  const body = { publicKeyCredential: credential, passkeyName: "Laptop" };
  expectRestError(await verify(self.userId, opened.body.passkeyId, body), 401, 16, "AUTH-required");
  expect((await verify(self.userId, opened.body.passkeyId, body, self.token)).status).toBe(200);
});

it("acts on the user and registration the path names, whatever the body says", async () => {
  const ada = await addHuman(t, org);
  const bob = await addHuman(t, org);
  const opened = await register(ada, { code: await returnedCode(t, ada) });
  const credential = softAuthenticatorFor(t).create(
    opened.body.publicKeyCredentialCreationOptions.publicKey,
  );
  // Bob's path, Ada's registration in the body: the path wins, and Bob has no such registration.
  const crossed = await verify(bob, "0190b1a2-0000-7000-8000-000000000000", {
    publicKeyCredential: credential,
    passkeyName: "Phone",
    userId: ada,
    passkeyId: opened.body.passkeyId,
  });
  expectRestError(crossed, 404, 5, "PASSKEY-registration-not-found");
  expect((await t.ok(LIST_PASSKEYS, { userId: ada })).passkeys).toEqual([]);
  // Ada's registration is untouched and still verifies on its own path.
  const verified = await verify(ada, opened.body.passkeyId, {
    publicKeyCredential: credential,
    passkeyName: "Phone",
  });
  expect(verified.status).toBe(200);
});
