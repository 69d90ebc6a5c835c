// A software WebAuthn authenticator on node:crypto (P-256, "none" attestation) for fast API-level
// edge cases. The browser tests with Chromium's virtual authenticator stay the proof.
import { createHash, generateKeyPairSync, randomBytes } from "node:crypto";

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
}

export interface CreateOverrides {
  origin?: string;
  challenge?: string;
  userVerified?: boolean;
  rpId?: string;
  credentialId?: Buffer;
  /** The authenticator's AAGUID (16 bytes); default all zero, as under attestation "none". */
  aaguid?: Buffer;
  /** What `response.transports` says (default ["internal"]); anything, to test bad input. */
  transports?: unknown;
  /** clientDataJSON's crossOrigin flag (default false). */
  crossOrigin?: boolean;
  /** The COSE public key bytes in the attested credential data (default: a fresh P-256 key). */
  coseKey?: Buffer;
}

/** CBOR encoding for tests that build their own COSE keys. */
export const encodeCbor = (value: Map<Cbor, Cbor>): Buffer => cbor(value);
export type { Cbor };

export class SoftAuthenticator {
  constructor(
    private readonly origin: string,
    private readonly rpId: string,
  ) {}

  /** A RegistrationResponseJSON for `options`, as PublicKeyCredential.toJSON() would give it. */
  create(options: CreationOptions, overrides: CreateOverrides = {}) {
    const { publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    const jwk = publicKey.export({ format: "jwk" });
    const coseKey =
      overrides.coseKey ??
      cbor(
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
      overrides.aaguid ?? Buffer.alloc(16),
      idLength,
      credentialId,
      coseKey,
    ]);
    const clientData = Buffer.from(
      JSON.stringify({
        type: "webauthn.create",
        challenge: overrides.challenge ?? options.challenge,
        origin: overrides.origin ?? this.origin,
        crossOrigin: overrides.crossOrigin ?? false,
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
    return {
      id,
      rawId: id,
      type: "public-key",
      response: {
        clientDataJSON: clientData.toString("base64url"),
        attestationObject: attestation.toString("base64url"),
        transports: overrides.transports ?? ["internal"],
      },
      clientExtensionResults: {},
      authenticatorAttachment: "platform",
    };
  }
}
