// What every hosted page shares: its security headers, the language choice, HTML escaping, and
// the folder the page assets are read from.
import fs from "node:fs";
import path from "node:path";
import type { FastifyReply, FastifyRequest } from "fastify";

export const LANGUAGES = ["en", "de"] as const;
export type Language = (typeof LANGUAGES)[number];
export const DEFAULT_LANGUAGE: Language = "en";

/**
 * Headers of every response of the pages: nothing cached, indexed, framed, or leaked by referrer.
 * Trusted Types are required for scripts, so no script of ours can write HTML from a string: names
 * from the API reach the DOM as text only.
 */
export const SECURITY_HEADERS = {
  "cache-control": "no-store",
  "referrer-policy": "no-referrer",
  "x-robots-tag": "noindex, nofollow",
  "x-content-type-options": "nosniff",
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; object-src 'none'; frame-ancestors 'none'; require-trusted-types-for 'script'",
};

export const secure = (reply: FastifyReply): FastifyReply => reply.headers(SECURITY_HEADERS);

/** The supported language with the highest q in Accept-Language (primary subtag), else English. */
export function pickLanguage(header: string | undefined): Language {
  let best: { tag: Language; q: number } = { tag: DEFAULT_LANGUAGE, q: 0 };
  for (const part of (header ?? "").split(",")) {
    const [range = "", ...params] = part.trim().split(";");
    const tag = range.trim().toLowerCase().split("-")[0] ?? "";
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    if (isLanguage(tag) && Number.isFinite(q) && q > best.q) best = { tag, q };
  }
  return best.tag;
}

const isLanguage = (tag: string): tag is Language => (LANGUAGES as readonly string[]).includes(tag);

/** Serves the page of the request's language; the pages are rendered once, at start-up. */
export function sendPage(
  request: FastifyRequest,
  reply: FastifyReply,
  pages: Record<Language, string>,
): FastifyReply {
  const language = pickLanguage(request.headers["accept-language"]);
  return secure(reply)
    .header("content-type", "text/html; charset=utf-8")
    .header("content-language", language)
    .header("vary", "Accept-Language")
    .send(pages[language]);
}

export const escapeHtml = (text: string): string =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );

/** The `<head>` every page has; `root` is the relative path up to `/ui/`. */
export function pageHead(lang: string, title: string, root: string, styles: string[]): string {
  const links = styles
    .map((style) => `<link rel="stylesheet" href="${root}assets/${style}">`)
    .join("\n");
  return `<!DOCTYPE html>
<html lang="${lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
${links}
</head>`;
}

/** Hidden status messages, one per outcome; the script only chooses which one to show. */
export function outcomeMessages(outcomes: Record<string, string>): string {
  return Object.entries(outcomes)
    .map(([outcome, text]) => `<p data-outcome="${outcome}" hidden>${escapeHtml(text)}</p>`)
    .join("\n");
}

/** The folder holding package.json: the same from src/ (ts-jest) and from dist/src/ (node). */
export function packageRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, "package.json"))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error("package.json not found above " + __dirname);
    dir = parent;
  }
  return dir;
}
