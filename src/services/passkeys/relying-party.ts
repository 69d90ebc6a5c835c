// The WebAuthn relying party: creation options and registration verification through
// @simplewebauthn/server. RP ID, name and accepted origins come only from configuration, and this
// is the one place that knows which origins a ceremony may come from.
import { createHash, createPublicKey, timingSafeEqual } from "node:crypto";
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
import { cose, decodeCredentialPublicKey } from "@simplewebauthn/server/helpers";
import type { Config } from "../../config";
import { ApiError } from "../../errors";

type CosePublicKeyBytes = Parameters<typeof decodeCredentialPublicKey>[0];

/** The transports WebAuthn defines (AuthenticatorTransport); anything else is dropped. */
const KNOWN_TRANSPORTS = new Set([
  "ble",
  "cable",
  "hybrid",
  "internal",
  "nfc",
  "smart-card",
  "usb",
]);

/** WebAuthn's bound on a credential ID (Web Authentication Level 3, credential ID). */
const MAX_CREDENTIAL_ID_BYTES = 1023;

/** The curve each EC2 algorithm signs with (COSE alg → crv), and the JWK names of the curves. */
const EC2_CURVE: Record<number, number> = { [-7]: 1, [-35]: 2, [-36]: 3 };
const JWK_CURVE: Record<number, string> = { 1: "P-256", 2: "P-384", 3: "P-521", 6: "Ed25519" };
const RSA_ALGS = new Set([-257, -258, -259, -37, -38, -39]);

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
   * Verifies an AuthenticationResponseJSON: signature, challenge, the accepted origins and RP
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
      expectedOrigin: [...this.expectedOrigins],
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
   * Verifies the browser's RegistrationResponseJSON against the stored hash of the expected
   * challenge (compared in constant time), the accepted origins (configured and related) and RP ID, with user
   * verification required. Throws an ApiError for what we refuse beyond the library (a
   * cross-origin response, an oversized credential ID, a public key that could never verify a
   * signature), else the library's error.
   */
  async verifyRegistration(
    response: unknown,
    storedChallengeHash: string,
  ): Promise<VerifiedCredential> {
    if (isCrossOrigin(response)) {
      throw ApiError.invalidArgument(
        "PASSKEY-cross-origin",
        "the passkey was created in a cross-origin frame; register it on this site's own page",
      );
    }
    const { verified, registrationInfo } = await verifyRegistrationResponse({
      response: response as RegistrationResponseJSON,
      expectedChallenge: (challenge) => challengeMatches(challenge, storedChallengeHash),
      expectedOrigin: [...this.expectedOrigins],
      expectedRPID: this.settings.rpId,
      requireUserVerification: true,
    });
    if (!verified) throw new Error("the registration response did not verify");
    const { credential } = registrationInfo;
    if (Buffer.from(credential.id, "base64url").length > MAX_CREDENTIAL_ID_BYTES) {
      throw ApiError.invalidArgument(
        "PASSKEY-credential-id-too-long",
        `the credential ID is longer than ${MAX_CREDENTIAL_ID_BYTES} bytes`,
      );
    }
    assertUsablePublicKey(credential.publicKey);
    return {
      credentialId: credential.id,
      credentialHash: credentialHash(credential.id),
      publicKey: Buffer.from(credential.publicKey).toString("base64url"),
      signCount: credential.counter,
      transports: knownTransports(credential.transports),
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

/** What `passkey_registrations.challenge` keeps: SHA-256 (hex) of the base64url challenge. */
export function challengeHash(challenge: string): string {
  return createHash("sha256").update(challenge, "utf8").digest("hex");
}

function challengeMatches(challenge: string, storedHash: string): boolean {
  const presented = Buffer.from(challengeHash(challenge), "hex");
  const stored = Buffer.from(storedHash, "hex");
  return presented.length === stored.length && timingSafeEqual(presented, stored);
}

/** The known transport names the browser reported, once each; a non-list counts as none. */
function knownTransports(reported: unknown): string[] {
  if (!Array.isArray(reported)) return [];
  const known = reported.filter(
    (name): name is string => typeof name === "string" && KNOWN_TRANSPORTS.has(name),
  );
  return [...new Set(known)];
}

/** clientDataJSON's crossOrigin flag; an undecodable one is the library's to refuse. */
function isCrossOrigin(response: unknown): boolean {
  const clientDataJSON = (response as { response?: { clientDataJSON?: unknown } } | null)?.response
    ?.clientDataJSON;
  if (typeof clientDataJSON !== "string") return false;
  try {
    const clientData = JSON.parse(Buffer.from(clientDataJSON, "base64url").toString("utf8")) as {
      crossOrigin?: unknown;
    } | null;
    return clientData?.crossOrigin === true;
  } catch {
    return false;
  }
}

/**
 * Parses the COSE key and imports it as a node:crypto key of a supported algorithm and matching
 * curve: a key that imports can verify the signatures of a later sign-in (SPEC 18).
 */
function assertUsablePublicKey(publicKey: CosePublicKeyBytes): void {
  try {
    createPublicKey({ key: coseToJwk(publicKey), format: "jwk" });
  } catch {
    throw ApiError.invalidArgument(
      "PASSKEY-public-key",
      "the credential's public key cannot be used: unsupported algorithm or curve, or not a valid key",
    );
  }
}

function coseToJwk(publicKey: CosePublicKeyBytes): Record<string, string> {
  const key = decodeCredentialPublicKey(publicKey) as unknown as Map<number, unknown>;
  const bytes = (label: number) => {
    const value = key.get(label);
    if (!(value instanceof Uint8Array)) throw new Error(`COSE label ${label} is not bytes`);
    return Buffer.from(value).toString("base64url");
  };
  const alg = key.get(cose.COSEKEYS.alg);
  const kty = key.get(cose.COSEKEYS.kty);
  const crv = key.get(cose.COSEKEYS.crv);
  if (kty === cose.COSEKTY.EC2 && typeof alg === "number" && EC2_CURVE[alg] === crv) {
    return {
      kty: "EC",
      crv: JWK_CURVE[crv as number]!,
      x: bytes(cose.COSEKEYS.x),
      y: bytes(cose.COSEKEYS.y),
    };
  }
  if (kty === cose.COSEKTY.OKP && alg === cose.COSEALG.EdDSA && crv === 6) {
    return { kty: "OKP", crv: "Ed25519", x: bytes(cose.COSEKEYS.x) };
  }
  if (kty === cose.COSEKTY.RSA && typeof alg === "number" && RSA_ALGS.has(alg)) {
    return { kty: "RSA", n: bytes(cose.COSEKEYS.n), e: bytes(cose.COSEKEYS.e) };
  }
  throw new Error("unsupported COSE key type, algorithm or curve");
}
