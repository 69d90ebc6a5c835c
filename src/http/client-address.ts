// The client's address for per-address limits: the socket's peer, or, behind TRUST_PROXY trusted
// hops, the rightmost X-Forwarded-For entry that no trusted hop added.
import type { IncomingHttpHeaders } from "node:http";

export function clientAddress(
  remoteAddress: string | undefined,
  headers: IncomingHttpHeaders,
  trustedHops: number,
): string | undefined {
  if (trustedHops === 0) return remoteAddress;
  const header = headers["x-forwarded-for"];
  const forwarded = (Array.isArray(header) ? header.join(",") : (header ?? ""))
    .split(",")
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  // Each trusted hop appended the address it received the request from; the last hop's own
  // peer address is the socket's.
  const chain = [...forwarded, ...(remoteAddress ? [remoteAddress] : [])];
  return chain[Math.max(0, chain.length - 1 - trustedHops)];
}
