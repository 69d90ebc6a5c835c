// Time and identifiers, injected so tests and benchmarks can control them.
import { secureRandomBytes } from "./random-pool";

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export interface IdGenerator {
  next(): string;
}

/** UUIDv7 (RFC 9562): 48 bits of milliseconds, then random bits; sorts by creation time. */
export const uuidV7: IdGenerator = {
  next(): string {
    const bytes = secureRandomBytes(16);
    // Milliseconds fit 48 bits until the year 10889; a double holds them exactly.
    bytes.writeUIntBE(Date.now(), 0, 6);
    bytes[6] = (bytes[6]! & 0x0f) | 0x70;
    bytes[8] = (bytes[8]! & 0x3f) | 0x80;
    const hex = bytes.toString("hex");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  },
};
