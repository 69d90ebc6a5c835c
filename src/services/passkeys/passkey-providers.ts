// Passkey providers by AAGUID: the names of the community AAGUID list, committed as data
// (authenticator-names.json, refreshed by scripts/refresh-aaguids.ts), looked up in memory.
import authenticatorNames from "./authenticator-names.json";

export interface PasskeyProvider {
  /** The provider's name for passkey listings, e.g. "Google Password Manager". */
  name: string;
}

const PROVIDERS = new Map<string, PasskeyProvider>(
  Object.entries(authenticatorNames.names).map(([aaguid, name]) => [
    aaguid,
    Object.freeze({ name }),
  ]),
);

/**
 * The provider that made a passkey, from the AAGUID stored at registration; null when the list
 * does not know it. The all-zero AAGUID (authenticators that withhold theirs) is never listed.
 */
export function passkeyProvider(aaguid: string): PasskeyProvider | null {
  return PROVIDERS.get(aaguid.toLowerCase()) ?? null;
}
