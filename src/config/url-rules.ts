// URL rules shared by configuration and link templates.
import { isIP } from "node:net";

/** localhost, *.localhost, 127.0.0.0/8 and ::1: the hosts where plain http is acceptable. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  return host === "::1";
}
