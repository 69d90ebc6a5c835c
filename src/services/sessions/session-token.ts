// Session tokens and webAuthN challenges: random, shown once, stored only as SHA-256.
import { hash, timingSafeEqual } from "node:crypto";
import { secureRandomBytes } from "../../core/random-pool";

/** Recognisable prefix (like PATs' `plk_`) so secret scanners and the bearer check find them. */
export const SESSION_TOKEN_PREFIX = "pls_";

/** A new session token: 256 random bits. */
export function newSessionToken(): string {
  return SESSION_TOKEN_PREFIX + secureRandomBytes(32).toString("base64url");
}

/** 256 random bits, unkeyed SHA-256 is enough (as for PATs). */
export function sha256Hex(value: string): string {
  return hash("sha256", value, "hex");
}

/** Compares two SHA-256 hex digests in constant time. */
export function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a, "hex");
  const right = Buffer.from(b, "hex");
  return left.length === right.length && left.length > 0 && timingSafeEqual(left, right);
}

/** A new webAuthN challenge, base64url of 32 random bytes. */
export function newChallenge(): string {
  return secureRandomBytes(32).toString("base64url");
}

export function isSessionToken(token: string): boolean {
  return token.startsWith(SESSION_TOKEN_PREFIX);
}
