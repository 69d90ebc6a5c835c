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
  const picked = chain[Math.max(0, chain.length - 1 - trustedHops)];
  return picked === undefined ? undefined : withoutPort(picked);
}

/**
 * Some proxies append the client's port ("203.0.113.7:51234", "[2001:db8::1]:443"): a new port
 * per connection would otherwise be a new budget. A bare IPv6 address keeps its colons.
 */
function withoutPort(entry: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(entry);
  if (bracketed) return bracketed[1]!;
  const v4 = /^(\d{1,3}(?:\.\d{1,3}){3}):\d+$/.exec(entry);
  return v4 ? v4[1]! : entry;
}
