// Registration codes drawn uniformly from [A-Za-z0-9] with a cryptographic generator.
import { secureRandomBytes } from "../../core/random-pool";

export const CODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** Random bytes, injectable so tests and benchmarks can supply their own source. */
export type RandomBytes = (size: number) => Buffer;

/**
 * Rejection sampling: a byte is used only below the largest multiple of 62 that fits (248), so
 * every character has exactly the same probability (a plain `byte % 62` would favour the first 8).
 */
export function generateCode(length: number, random: RandomBytes = secureRandomBytes): string {
  const limit = 256 - (256 % CODE_ALPHABET.length);
  let code = "";
  while (code.length < length) {
    for (const byte of random(length * 2)) {
      if (byte < limit) code += CODE_ALPHABET[byte % CODE_ALPHABET.length];
      if (code.length === length) break;
    }
  }
  return code;
}
