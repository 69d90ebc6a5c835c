// URL rules shared by configuration and link templates.
import { isIP } from "node:net";

/** localhost, *.localhost, 127.0.0.0/8 and ::1: the hosts where plain http is acceptable. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  return host === "::1";
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
