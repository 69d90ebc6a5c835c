// A software WebAuthn authenticator on node:crypto (P-256, "none" attestation) for fast API-level
// edge cases. The browser tests with Chromium's virtual authenticator stay the proof.
import type { KeyObject } from "node:crypto";
import { createHash, generateKeyPairSync, randomBytes, sign } from "node:crypto";

type Cbor = number | string | Buffer | Map<Cbor, Cbor>;

/** The few CBOR shapes an attestation needs: integers, byte and text strings, maps. */
function cbor(value: Cbor): Buffer {
  const head = (major: number, length: number) => {
    if (length < 24) return Buffer.from([(major << 5) | length]);
    if (length < 256) return Buffer.from([(major << 5) | 24, length]);
    const out = Buffer.alloc(3);
    out[0] = (major << 5) | 25;
    out.writeUInt16BE(length, 1);
    return out;
  };
  if (typeof value === "number") return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (typeof value === "string") {
    const bytes = Buffer.from(value, "utf8");
    return Buffer.concat([head(3, bytes.length), bytes]);
  }
  if (Buffer.isBuffer(value)) return Buffer.concat([head(2, value.length), value]);
  return Buffer.concat([
    head(5, value.size),
    ...[...value].flatMap(([key, item]) => [cbor(key), cbor(item)]),
  ]);
}

export interface CreationOptions {
  challenge: string;
  rp: { id?: string };
  user?: { id: string };
}

/** A credential the authenticator holds: its private key, counter and user handle. */
export interface SoftCredential {
  id: string;
  privateKey: KeyObject;
  signCount: number;
  userHandle: string | null;
}

export interface RequestOptions {
  challenge: string;
  rpId?: string;
}

export interface GetOverrides {
  /** Which credential answers (default: the last one created). */
  credentialId?: string;
  origin?: string;
  challenge?: string;
  rpId?: string;
  userVerified?: boolean;
  /** The counter to report (default: the stored one plus one, which is then stored). */
  signCount?: number;
  /** The user handle to report (null: none; default: the one registration gave). */
  userHandle?: string | null;
  crossOrigin?: boolean;
  type?: string;
  /** Sign with another key (a forger without the credential's key). */
  signWith?: KeyObject;
  backedUp?: boolean;
}

export interface CreateOverrides {
  origin?: string;
  challenge?: string;
  userVerified?: boolean;
  rpId?: string;
  credentialId?: Buffer;
}

export class SoftAuthenticator {
  readonly credentials = new Map<string, SoftCredential>();
  private last: string | undefined;

  constructor(
    private readonly origin: string,
    private readonly rpId: string,
  ) {}

  /**
   * An AuthenticationResponseJSON for `options` (navigator.credentials.get() then toJSON()),
   * from a credential this authenticator created; every field can be bent for attack tests.
   */
  get(options: RequestOptions, overrides: GetOverrides = {}) {
    const id = overrides.credentialId ?? this.last;
    const credential = id === undefined ? undefined : this.credentials.get(id);
    if (!credential) throw new Error("the soft authenticator holds no such credential");
    const signCount = overrides.signCount ?? credential.signCount + 1;
    if (overrides.signCount === undefined) credential.signCount = signCount;
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(signCount);
    const flags =
      0x01 |
      (overrides.userVerified === false ? 0 : 0x04) |
      0x08 |
      (overrides.backedUp === false ? 0 : 0x10);
    const authData = Buffer.concat([
      createHash("sha256")
        .update(overrides.rpId ?? options.rpId ?? this.rpId)
        .digest(),
      Buffer.from([flags]),
      counter,
    ]);
    const clientData = Buffer.from(
      JSON.stringify({
        type: overrides.type ?? "webauthn.get",
        challenge: overrides.challenge ?? options.challenge,
        origin: overrides.origin ?? this.origin,
        crossOrigin: overrides.crossOrigin ?? false,
      }),
    );
    const signed = Buffer.concat([authData, createHash("sha256").update(clientData).digest()]);
    const signature = sign("sha256", signed, overrides.signWith ?? credential.privateKey);
    const userHandle =
      overrides.userHandle === undefined ? credential.userHandle : overrides.userHandle;
    return {
      id: credential.id,
      rawId: credential.id,
      type: "public-key",
      response: {
        clientDataJSON: clientData.toString("base64url"),
        authenticatorData: authData.toString("base64url"),
        signature: signature.toString("base64url"),
        ...(userHandle === null ? {} : { userHandle }),
      },
      clientExtensionResults: {},
      authenticatorAttachment: "platform",
    };
  }

  /** A RegistrationResponseJSON for `options`, as PublicKeyCredential.toJSON() would give it. */
  create(options: CreationOptions, overrides: CreateOverrides = {}) {
    const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const jwk = publicKey.export({ format: "jwk" });
    const coseKey = cbor(
      new Map<Cbor, Cbor>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, Buffer.from(jwk.x!, "base64url")],
        [-3, Buffer.from(jwk.y!, "base64url")],
      ]),
    );
    const credentialId = overrides.credentialId ?? randomBytes(32);
    const idLength = Buffer.alloc(2);
    idLength.writeUInt16BE(credentialId.length);
    const flags = 0x01 | 0x40 | (overrides.userVerified === false ? 0 : 0x04);
    const authData = Buffer.concat([
      createHash("sha256")
        .update(overrides.rpId ?? options.rp.id ?? this.rpId)
        .digest(),
      Buffer.from([flags]),
      Buffer.alloc(4),
      Buffer.alloc(16),
      idLength,
      credentialId,
      coseKey,
    ]);
    const clientData = Buffer.from(
      JSON.stringify({
        type: "webauthn.create",
        challenge: overrides.challenge ?? options.challenge,
        origin: overrides.origin ?? this.origin,
        crossOrigin: false,
      }),
    );
    const attestation = cbor(
      new Map<Cbor, Cbor>([
        ["fmt", "none"],
        ["attStmt", new Map()],
        ["authData", authData],
      ]),
    );
    const id = credentialId.toString("base64url");
    this.credentials.set(id, {
      id,
      privateKey,
      signCount: 0,
      userHandle: options.user?.id ?? null,
    });
    this.last = id;
    return {
      id,
      rawId: id,
      type: "public-key",
      response: {
        clientDataJSON: clientData.toString("base64url"),
        attestationObject: attestation.toString("base64url"),
        transports: ["internal"],
      },
      clientExtensionResults: {},
      authenticatorAttachment: "platform",
    };
  }
}
