// Signing in over GraphQL as a client does it: createSession with a challenge, the authenticator's
// assertion, setSession. A software authenticator keeps the keys, so tests can bend any field.
import type { GqlOptions, GqlResponse, TestApp } from "./harness";
import type { Code } from "./passkeys";
import { registerPasskey, returnedCode, verifyPasskey } from "./passkeys";
import type { GetOverrides } from "./soft-authenticator";
import { SoftAuthenticator } from "./soft-authenticator";

export const CREATE_SESSION = `mutation($input: CreateSessionInput!) { createSession(input: $input) { details { sequence changeDate resourceOwner } sessionId sessionToken challenges { webAuthN { publicKeyCredentialRequestOptions } } } }`;
export const SET_SESSION = `mutation($input: SetSessionInput!) { setSession(input: $input) { details { sequence changeDate resourceOwner } sessionToken challenges { webAuthN { publicKeyCredentialRequestOptions } } signals { rpId userId allAcceptedCredentialIds name displayName } } }`;
export const GET_SESSION = `query($sessionId: ID!, $sessionToken: String, $maxAge: Int) { session(sessionId: $sessionId, sessionToken: $sessionToken, maxAge: $maxAge) { id creationDate changeDate sequence expirationDate factors { user { verifiedAt id loginName displayName organizationId } webAuthN { verifiedAt userVerified passkeyId } } } }`;
export const LIST_SESSIONS = `query($userId: ID) { sessions(userId: $userId) { totalResult sessions { id } } }`;
export const DELETE_SESSION = `mutation($input: DeleteSessionInput!) { deleteSession(input: $input) { details { sequence changeDate resourceOwner } } }`;

export const WEBAUTHN_CHALLENGE = {
  webAuthN: { userVerificationRequirement: "USER_VERIFICATION_REQUIREMENT_REQUIRED" },
};

export function softAuthenticator(t: TestApp): SoftAuthenticator {
  return new SoftAuthenticator(t.config.webauthn.origins[0]!, t.config.webauthn.rpId);
}

/** Registers a passkey for `userId` on `authenticator` with a fresh code; returns its passkeyId. */
export async function enrol(
  t: TestApp,
  userId: string,
  authenticator: SoftAuthenticator,
  code?: Code,
): Promise<string> {
  const opened = await registerPasskey(t, userId, code ?? (await returnedCode(t, userId)));
  if (opened.errors) throw new Error(JSON.stringify(opened.errors));
  const { passkeyId, publicKeyCredentialCreationOptions } = opened.data.registerPasskey;
  const response = authenticator.create(publicKeyCredentialCreationOptions.publicKey);
  const verified = await verifyPasskey(t, { userId, passkeyId, publicKeyCredential: response });
  if (verified.errors) throw new Error(JSON.stringify(verified.errors));
  return passkeyId;
}

export interface Started {
  sessionId: string;
  sessionToken: string;
  options: {
    challenge: string;
    rpId: string;
    allowCredentials?: unknown[];
    [key: string]: unknown;
  };
  response: GqlResponse;
}

/** createSession with a webAuthN challenge (and `extra` input), anonymous unless told. */
export async function startSession(
  t: TestApp,
  extra: Record<string, unknown> = {},
  options: GqlOptions = { token: null },
): Promise<Started> {
  const response = await t.gql(
    CREATE_SESSION,
    { input: { challenges: WEBAUTHN_CHALLENGE, ...extra } },
    options,
  );
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  const created = response.data.createSession;
  return {
    sessionId: created.sessionId,
    sessionToken: created.sessionToken,
    options: created.challenges.webAuthN.publicKeyCredentialRequestOptions.publicKey,
    response,
  };
}

/** setSession with an assertion. */
export function checkSession(
  t: TestApp,
  session: { sessionId: string; sessionToken: string },
  assertion: unknown,
  extra: Record<string, unknown> = {},
  options: GqlOptions = { token: null },
) {
  return t.gql(
    SET_SESSION,
    {
      input: {
        sessionId: session.sessionId,
        sessionToken: session.sessionToken,
        checks: { webAuthN: { credentialAssertionData: assertion } },
        ...extra,
      },
    },
    options,
  );
}

/** A discoverable sign-in end to end; returns the session and its (rotated) token. */
export async function signIn(
  t: TestApp,
  authenticator: SoftAuthenticator,
  overrides: GetOverrides = {},
  extra: Record<string, unknown> = {},
): Promise<{ sessionId: string; sessionToken: string }> {
  const started = await startSession(t, extra);
  const checked = await checkSession(t, started, authenticator.get(started.options, overrides));
  if (checked.errors) throw new Error(JSON.stringify(checked.errors));
  return { sessionId: started.sessionId, sessionToken: checked.data.setSession.sessionToken };
}
