// The WebAuthn relying party: creation options and registration verification through
// @simplewebauthn/server. RP ID, name and accepted origins come only from configuration, and this
// is the one place that knows which origins a ceremony may come from.
import { createHash } from "node:crypto";
import type {
  AuthenticatorAttachment,
  PublicKeyCredentialCreationOptionsJSON,
  RegistrationResponseJSON,
} from "@simplewebauthn/server";
import { generateRegistrationOptions, verifyRegistrationResponse } from "@simplewebauthn/server";
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

export class RelyingParty {
  /**
   * Every origin a registration or sign-in response may come from: WEBAUTHN_ORIGINS (the RP ID
   * and its subdomains), then WEBAUTHN_RELATED_ORIGINS (other hosts, WebAuthn related origins).
   */
  readonly expectedOrigins: readonly string[];
  /** The related origins alone, as served at /.well-known/webauthn. */
  readonly relatedOrigins: readonly string[];

  constructor(private readonly settings: Config["webauthn"]) {
    this.relatedOrigins = Object.freeze([...new Set(settings.relatedOrigins)]);
    this.expectedOrigins = Object.freeze([
      ...new Set([...settings.origins, ...settings.relatedOrigins]),
    ]);
  }

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

  /**
   * Verifies the browser's RegistrationResponseJSON against the expected challenge, the expected
   * origins and the RP ID, with user verification required. Throws with the library's reason.
   */
  async verifyRegistration(response: unknown, challenge: string): Promise<VerifiedCredential> {
    const { verified, registrationInfo } = await verifyRegistrationResponse({
      response: response as RegistrationResponseJSON,
      expectedChallenge: challenge,
      expectedOrigin: [...this.expectedOrigins],
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

export function credentialHash(credentialId: string): string {
  return createHash("sha256").update(credentialId, "utf8").digest("hex");
}
