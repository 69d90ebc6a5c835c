// Key material: the master key (configured, or generated once into DATA_DIR/master.key) and the
// purpose-bound subkeys derived from it with HKDF, so no key is ever used for two jobs.
import fs from "node:fs";
import path from "node:path";
import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  hkdfSync,
  randomBytes,
  timingSafeEqual,
} from "node:crypto";

export class KeyRing {
  /** HMAC-SHA-256 key for registration codes. */
  readonly codeKey: Buffer;
  /** AES-256-GCM key for links waiting in the mail outbox. */
  readonly outboxKey: Buffer;
  /**
   * Names the master key without revealing it: HMAC-SHA-256 of a fixed label under the key (hex).
   * Stored in the database, so a start with another key is refused (see key-fingerprint.ts).
   */
  readonly fingerprint: string;

  constructor(masterKey: Buffer) {
    this.fingerprint = createHmac("sha256", masterKey)
      .update("passkey-link-api/key-fingerprint/v1", "utf8")
      .digest("hex");
    this.codeKey = derive(masterKey, "passkey-link-api/code-hmac/v1");
    this.outboxKey = derive(masterKey, "passkey-link-api/outbox-aes-gcm/v1");
  }

  /**
   * Uses the configured key, else DATA_DIR/master.key. On first run a new key is drawn but not yet
   * written: `save` writes it (mode 0600) once the start-up checks passed, so a refused start
   * leaves no key file behind.
   */
  static load(
    configured: Buffer | undefined,
    dataDir: string,
  ): { keys: KeyRing; save?: () => { keys: KeyRing; createdAt?: string } } {
    if (configured) return { keys: new KeyRing(configured) };
    const file = path.join(dataDir, "master.key");
    try {
      const key = Buffer.from(fs.readFileSync(file, "utf8").trim(), "base64");
      if (key.length !== 32) throw new Error(`${file} does not hold a base64 32-byte key`);
      return { keys: new KeyRing(key) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
    const key = randomBytes(32);
    return { keys: new KeyRing(key), save: () => KeyRing.save(key, dataDir) };
  }

  private static save(key: Buffer, dataDir: string): { keys: KeyRing; createdAt?: string } {
    const file = path.join(dataDir, "master.key");
    fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    try {
      fs.writeFileSync(file, `${key.toString("base64")}\n`, { mode: 0o600, flag: "wx" });
    } catch (error) {
      // Another process created it first: use theirs.
      if ((error as NodeJS.ErrnoException).code === "EEXIST") {
        return { keys: KeyRing.load(undefined, dataDir).keys };
      }
      throw error;
    }
    return { keys: new KeyRing(key), createdAt: file };
  }

  /** Keyed hash of a registration code (hex). */
  hashCode(code: string): string {
    return createHmac("sha256", this.codeKey).update(code, "utf8").digest("hex");
  }

  /** Constant-time comparison of a candidate code with a stored hash. */
  codeMatches(code: string, storedHash: string): boolean {
    const candidate = Buffer.from(this.hashCode(code), "hex");
    const stored = Buffer.from(storedHash, "hex");
    return candidate.length === stored.length && timingSafeEqual(candidate, stored);
  }
}

/**
 * AES-256-GCM under the outbox key. `context` (the outbox row ID) is authenticated data, so a
 * ciphertext copied to another row does not decrypt. Output: base64 of iv | tag | ciphertext.
 */
export function seal(key: Buffer, plaintext: string, context: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(Buffer.from(context, "utf8"));
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64");
}

export function unseal(key: Buffer, sealed: string, context: string): string {
  const raw = Buffer.from(sealed, "base64");
  const decipher = createDecipheriv("aes-256-gcm", key, raw.subarray(0, 12));
  decipher.setAAD(Buffer.from(context, "utf8"));
  decipher.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8");
}

function derive(master: Buffer, info: string): Buffer {
  return Buffer.from(hkdfSync("sha256", master, Buffer.alloc(0), info, 32));
}
