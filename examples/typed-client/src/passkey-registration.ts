// Registers a passkey with a code from a link: registerPasskey, the authenticator, then
// verifyPasskeyRegistration. No token is needed: the code is the authority.
import type { Request } from "./client";
import type { PasskeyAuthenticator } from "./generated/graphql";
import { RegisterPasskeyDocument, VerifyPasskeyRegistrationDocument } from "./generated/graphql";

export interface RegistrationCode {
  userId: string;
  codeId: string;
  code: string;
}

/**
 * Runs the WebAuthn ceremony on the server's options and returns the RegistrationResponseJSON:
 * in a browser, `startRegistration({ optionsJSON: options.publicKey })` of @simplewebauthn/browser.
 */
export type CreateCredential = (
  options: Record<string, unknown>,
) => Promise<Record<string, unknown>>;

/** Stores a passkey named `passkeyName` for the code's user; returns its ID. */
export async function registerPasskeyWithCode(
  request: Request,
  { userId, codeId, code }: RegistrationCode,
  createCredential: CreateCredential,
  passkeyName: string,
  authenticator: PasskeyAuthenticator = "UNSPECIFIED",
): Promise<string> {
  const { registerPasskey } = await request(RegisterPasskeyDocument, {
    input: { userId, code: { id: codeId, code }, authenticator },
  });
  const publicKeyCredential = await createCredential(
    registerPasskey.publicKeyCredentialCreationOptions,
  );
  await request(VerifyPasskeyRegistrationDocument, {
    input: { userId, passkeyId: registerPasskey.passkeyId, publicKeyCredential, passkeyName },
  });
  return registerPasskey.passkeyId;
}
