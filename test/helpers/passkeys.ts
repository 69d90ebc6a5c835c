// Passkey registration as a client does it: registerPasskey with the code, the authenticator,
// verifyPasskeyRegistration. Code-authorised calls carry no token.
import type { GqlOptions, TestApp } from "./harness";
import type { CreateOverrides } from "./soft-authenticator";
import { SoftAuthenticator } from "./soft-authenticator";

export const REGISTER = `mutation($input: RegisterPasskeyInput!) { registerPasskey(input: $input) { details { sequence creationDate changeDate resourceOwner } passkeyId publicKeyCredentialCreationOptions } }`;
export const VERIFY = `mutation($input: VerifyPasskeyRegistrationInput!) { verifyPasskeyRegistration(input: $input) { details { sequence changeDate resourceOwner } } }`;
export const LIST_PASSKEYS = `query($userId: ID!) { passkeys(userId: $userId) { id name createdAt registeredWithCodeId backedUp } }`;
export const REMOVE_PASSKEY = `mutation($input: RemovePasskeyInput!) { removePasskey(input: $input) { details { sequence } } }`;
export const RETURN_CODE = `mutation($input: CreatePasskeyRegistrationLinkInput!) { createPasskeyRegistrationLink(input: $input) { code { id code } } }`;

export interface Code {
  id: string;
  code: string;
}

/** A fresh code for `userId`, returned to the administrator. */
export async function returnedCode(t: TestApp, userId: string): Promise<Code> {
  return (await t.ok(RETURN_CODE, { input: { userId, returnCode: true } }))
    .createPasskeyRegistrationLink.code;
}

export function registerPasskey(
  t: TestApp,
  userId: string,
  code: Code | null,
  extra: Record<string, unknown> = {},
  options: GqlOptions = { token: null },
) {
  return t.gql(REGISTER, { input: { userId, code, ...extra } }, options);
}

export function verifyPasskey(
  t: TestApp,
  input: { userId: string; passkeyId: string; publicKeyCredential: unknown; passkeyName?: string },
  options: GqlOptions = { token: null },
) {
  return t.gql(VERIFY, { input: { passkeyName: "Test passkey", ...input } }, options);
}

/** The software authenticator for the app's default relying party (EXTERNAL_URL). */
export function softAuthenticatorFor(t: TestApp): SoftAuthenticator {
  return new SoftAuthenticator(t.config.webauthn.origins[0]!, t.config.webauthn.rpId);
}

/** Registers a passkey with `code` end to end; returns the passkeyId. */
export async function registerWithCode(
  t: TestApp,
  userId: string,
  code: Code,
  passkeyName = "Test passkey",
  overrides: CreateOverrides = {},
): Promise<string> {
  const opened = await registerPasskey(t, userId, code);
  if (opened.errors) throw new Error(JSON.stringify(opened.errors));
  const { passkeyId, publicKeyCredentialCreationOptions } = opened.data.registerPasskey;
  const credential = softAuthenticatorFor(t).create(
    publicKeyCredentialCreationOptions.publicKey,
    overrides,
  );
  const verified = await verifyPasskey(t, {
    userId,
    passkeyId,
    publicKeyCredential: credential,
    passkeyName,
  });
  if (verified.errors) throw new Error(JSON.stringify(verified.errors));
  return passkeyId;
}
