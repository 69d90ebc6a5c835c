// Passkey link mails as a user sees them: queue one, read the listing, pull the link out of a mail.
import type { TestApp } from "./harness";
import type { ReceivedMail } from "./smtp-sink";

export const SEND_LINK = `mutation($input: SendPasskeyLinkInput) { sendPasskeyLink(input: $input) { details { sequence } } }`;
export const CREATE_LINK = `mutation($input: CreatePasskeyRegistrationLinkInput!) { createPasskeyRegistrationLink(input: $input) { details { sequence } code { id } } }`;
export const LIST_CODES = `query($userId: ID!) { passkeyRegistrationCodes(userId: $userId) { id state medium delivery { state attempts lastError sentAt } } }`;

export interface Delivery {
  state: "QUEUED" | "SENT" | "FAILED";
  attempts: number;
  lastError: string | null;
  sentAt: string | null;
}

export interface CodeInfo {
  id: string;
  state: string;
  medium: string;
  delivery: Delivery | null;
}

/** The user's codes as the listing shows them, newest first. */
export async function listCodes(t: Pick<TestApp, "ok">, userId: string): Promise<CodeInfo[]> {
  return (await t.ok(LIST_CODES, { userId })).passkeyRegistrationCodes;
}

export interface MailLink {
  link: string;
  codeId: string;
  code: string;
}

/** The link on its own line of the plain-text part, with the code ID and code it carries. */
export function linkInText(text: string): MailLink {
  const link = /^(https?:\/\/\S+)$/m.exec(text)?.[1];
  if (!link) throw new Error(`no link in the text part:\n${text}`);
  return { link, ...codeOf(link) };
}

export function codeOf(link: string): { codeId: string; code: string } {
  const query = new URL(link).searchParams;
  return { codeId: query.get("codeID") ?? "", code: query.get("code") ?? "" };
}

/** The button's target in the HTML part, entities decoded as a mail client would. */
export function buttonHref(html: string): string {
  const href = /<a\s[^>]*href="([^"]*)"/i.exec(html)?.[1];
  if (href === undefined) throw new Error(`no link button in the HTML part:\n${html}`);
  return decodeEntities(href);
}

function decodeEntities(value: string): string {
  const named: Record<string, string> = { amp: "&", quot: '"', apos: "'", lt: "<", gt: ">" };
  return value.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (entity, name: string) => {
    if (name.startsWith("#x") || name.startsWith("#X")) {
      return String.fromCodePoint(parseInt(name.slice(2), 16));
    }
    if (name.startsWith("#")) return String.fromCodePoint(parseInt(name.slice(1), 10));
    return named[name.toLowerCase()] ?? entity;
  });
}

export function mailsTo(mails: ReceivedMail[], address: string): ReceivedMail[] {
  return mails.filter((mail) => mail.to.includes(address));
}
