// The WebAuthn relying party: creation options and registration verification through
// @simplewebauthn/server. RP ID, name and accepted origins come only from configuration.
import { createHash } from "node:crypto";
import type {
  AuthenticationResponseJSON,
  AuthenticatorAttachment,
  AuthenticatorTransport,
  PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON,
  RegistrationResponseJSON,
} from "@simplewebauthn/server";
import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
} from "@simplewebauthn/server";
import type { Config } from "../../config";

export interface CredentialHolder {
  /** Opaque user handle: the user's ID, never the e-mail address. */
  id: string;
  username: string;
  displayName: string;
}

export interface VerifiedCredential {
  credentialId: string;
  credentialHash: string;
  publicKey: string;
  signCount: number;
  transports: string[];
  aaguid: string;
  backedUp: boolean;
  /** The BE flag: the credential may be synced ("multiDevice" in the library's words). */
  backupEligible: boolean;
}

/** What a verified assertion reports; the counter is judged by the caller (SPEC 18). */
export interface VerifiedAssertion {
  newCounter: number;
  userVerified: boolean;
  backedUp: boolean;
}

export class RelyingParty {
  constructor(private readonly settings: Config["webauthn"]) {}

  get id(): string {
    return this.settings.rpId;
  }

  /**
   * Options for navigator.credentials.create(): a discoverable, user-verified credential.
   * `challenge` is base64url; the options carry the same string.
   */
  creationOptions(
    holder: CredentialHolder,
    challenge: string,
    exclude: readonly { credentialId: string; transports: string[] }[],
    attachment: AuthenticatorAttachment | undefined,
  ): Promise<PublicKeyCredentialCreationOptionsJSON> {
    return generateRegistrationOptions({
      rpName: this.settings.rpName,
      rpID: this.settings.rpId,
      userName: holder.username,
      userID: Buffer.from(holder.id, "utf8"),
      userDisplayName: holder.displayName,
      // Bytes: a string would be taken as UTF-8 text and encoded once more.
      challenge: Buffer.from(challenge, "base64url"),
      timeout: this.settings.timeoutSeconds * 1000,
      attestationType: "none",
      excludeCredentials: exclude.map(({ credentialId, transports }) => ({
        id: credentialId,
        transports,
      })),
      authenticatorSelection: {
        residentKey: "required",
        requireResidentKey: true,
        userVerification: "required",
        ...(attachment ? { authenticatorAttachment: attachment } : {}),
      },
    });
  }

  /** Options for navigator.credentials.get(): user verification required, our RP ID. */
  requestOptions(
    challenge: string,
    allow: readonly { credentialId: string; transports: string[] }[],
  ): Promise<PublicKeyCredentialRequestOptionsJSON> {
    return generateAuthenticationOptions({
      rpID: this.settings.rpId,
      challenge: Buffer.from(challenge, "base64url"),
      timeout: this.settings.timeoutSeconds * 1000,
      userVerification: "required",
      allowCredentials: allow.map(({ credentialId, transports }) => ({
        id: credentialId,
        transports: transports as AuthenticatorTransport[],
      })),
    });
  }

  /**
   * Verifies an AuthenticationResponseJSON: signature, challenge, the configured origins and RP
   * ID, user verification. The library's counter check is disarmed (`counter: 0`): it runs
   * before the signature is known to hold, so a forged response could otherwise flag a passkey.
   * Throws with the library's reason.
   */
  async verifyAssertion(
    response: unknown,
    challenge: string,
    credential: { credentialId: string; publicKey: string; transports: string[] },
  ): Promise<VerifiedAssertion> {
    const { verified, authenticationInfo } = await verifyAuthenticationResponse({
      response: response as AuthenticationResponseJSON,
      expectedChallenge: challenge,
      expectedOrigin: this.settings.origins,
      expectedRPID: this.settings.rpId,
      expectedType: "webauthn.get",
      requireUserVerification: true,
      credential: {
        id: credential.credentialId,
        publicKey: Buffer.from(credential.publicKey, "base64url"),
        counter: 0,
        transports: credential.transports,
      },
    });
    if (!verified || !authenticationInfo.userVerified) {
      throw new Error("the assertion did not verify");
    }
    return {
      newCounter: authenticationInfo.newCounter,
      userVerified: authenticationInfo.userVerified,
      backedUp: authenticationInfo.credentialBackedUp,
    };
  }

  /**
   * Verifies the browser's RegistrationResponseJSON against the expected challenge, the configured
   * origins and RP ID, with user verification required. Throws with the library's reason.
   */
  async verifyRegistration(response: unknown, challenge: string): Promise<VerifiedCredential> {
    const { verified, registrationInfo } = await verifyRegistrationResponse({
      response: response as RegistrationResponseJSON,
      expectedChallenge: challenge,
      expectedOrigin: this.settings.origins,
      expectedRPID: this.settings.rpId,
      requireUserVerification: true,
    });
    if (!verified) throw new Error("the registration response did not verify");
    const { credential } = registrationInfo;
    return {
      credentialId: credential.id,
      credentialHash: credentialHash(credential.id),
      publicKey: Buffer.from(credential.publicKey).toString("base64url"),
      signCount: credential.counter,
      transports: credential.transports ?? [],
      aaguid: registrationInfo.aaguid,
      backedUp: registrationInfo.credentialBackedUp,
      backupEligible: registrationInfo.credentialDeviceType === "multiDevice",
    };
  }
}

/** The sign-in half of the relying party. */
export interface AuthenticationParty {
  readonly id: string;
  requestOptions(
    challenge: string,
    allow: readonly { credentialId: string; transports: string[] }[],
  ): Promise<PublicKeyCredentialRequestOptionsJSON>;
  verifyAssertion(
    response: unknown,
    challenge: string,
    credential: { credentialId: string; publicKey: string; transports: string[] },
  ): Promise<VerifiedAssertion>;
}

export function credentialHash(credentialId: string): string {
  return createHash("sha256").update(credentialId, "utf8").digest("hex");
}
