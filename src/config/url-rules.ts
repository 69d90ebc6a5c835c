// URL rules shared by configuration and link templates.
import { isIP } from "node:net";

/** localhost, *.localhost, 127.0.0.0/8 and ::1: the hosts where plain http is acceptable. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  return host === "::1";
}

/**
 * A configured origin written as nothing but `scheme://host[:port]` (a trailing slash is fine):
 * no user info, path, query, fragment, backslash or white space, so an entry can neither carry
 * more than it says nor be read as another host (`https://a.example@b.example`). `https:`, or
 * `http:` on a loopback host. With `hostName`, no IP address (browsers run no WebAuthn ceremony on
 * one). Returns the origin as browsers serialize it, or why not.
 */
export function parseExactOrigin(
  entry: string,
  { hostName = false }: { hostName?: boolean } = {},
): { origin: string } | { problem: string } {
  const shown = JSON.stringify(entry.length > 100 ? `${entry.slice(0, 100)}…` : entry);
  if (entry.includes("@")) {
    // Not echoed: what stands before "@" may be a password.
    return { problem: "an entry has user info (user@ or user:password@): give the origin alone" };
  }
  if (!/^[a-z][a-z0-9+.-]*:\/\/[^/?#\\\s@]+\/?$/i.test(entry) || !URL.canParse(entry)) {
    return {
      problem: `${shown} must be an origin alone, scheme://host[:port], without path, query or fragment`,
    };
  }
  const url = new URL(entry);
  if (!(url.protocol === "https:" || (url.protocol === "http:" && isLoopbackHost(url.hostname)))) {
    return { problem: `${shown} must be https (http is allowed only for loopback hosts)` };
  }
  if (hostName && isIpAddress(url.hostname) && !isLoopbackHost(url.hostname)) {
    return {
      problem: `${shown} must name a host: browsers run no WebAuthn ceremony on an IP address`,
    };
  }
  return { origin: url.origin };
}

/** An IPv4 or IPv6 address (with or without the brackets of a URL's host). */
export function isIpAddress(hostname: string): boolean {
  return isIP(hostname.replace(/^\[|\]$/g, "")) !== 0;
}

/** smtp:// (not smtps://) with a user name, to a host that is not loopback. */
export function smtpSendsCredentials(smtpUrl: string): boolean {
  const url = new URL(smtpUrl);
  return url.protocol === "smtp:" && url.username !== "" && !isLoopbackHost(url.hostname);
}

/** Such a URL that also turns TLS off in its options (nodemailer reads them from the query). */
export function smtpSendsPasswordInClear(smtpUrl: string): boolean {
  const query = new URL(smtpUrl).searchParams;
  return (
    smtpSendsCredentials(smtpUrl) &&
    (query.get("ignoreTLS") === "true" || query.get("requireTLS") === "false")
  );
}
