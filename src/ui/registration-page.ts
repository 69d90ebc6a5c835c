// The page a registration link opens. GET serves static HTML (chosen by Accept-Language) and the
// page's own assets: no database access, no code check, no event, so link scanners and previews
// spend nothing. The page's script calls registerPasskey / verifyPasskeyRegistration on /graphql.
import fs from "node:fs";
import path from "node:path";
import type { FastifyInstance, FastifyReply } from "fastify";
import type { PageTexts } from "./page-texts";
import { DEFAULT_LANGUAGE, PAGE_TEXTS } from "./page-texts";

export const REGISTRATION_PAGE_PATH = "/ui/login/login/passwordless/init";
const ASSET_PREFIX = "/ui/assets/";

/** Headers of every response of the page: nothing cached, indexed, framed, or leaked by referrer. */
const SECURITY_HEADERS = {
  "cache-control": "no-store",
  "referrer-policy": "no-referrer",
  "x-robots-tag": "noindex, nofollow",
  "x-content-type-options": "nosniff",
  "content-security-policy":
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; object-src 'none'; frame-ancestors 'none'",
};

interface Asset {
  type: string;
  body: Buffer;
}

export function registerRegistrationPage(http: FastifyInstance): void {
  const pages = new Map(Object.entries(PAGE_TEXTS).map(([tag, texts]) => [tag, renderPage(texts)]));
  const assets = loadAssets();
  const secure = (reply: FastifyReply) => reply.headers(SECURITY_HEADERS);

  http.get(REGISTRATION_PAGE_PATH, (request, reply) => {
    const language = pickLanguage(request.headers["accept-language"]);
    return secure(reply)
      .header("content-type", "text/html; charset=utf-8")
      .header("content-language", language)
      .header("vary", "Accept-Language")
      .send(pages.get(language));
  });
  http.get(`${ASSET_PREFIX}:file`, (request, reply) => {
    const asset = assets.get((request.params as { file: string }).file);
    if (!asset) return secure(reply).code(404).type("text/plain").send("not found");
    return secure(reply).header("content-type", asset.type).send(asset.body);
  });
}

/** The page's files, read once: its script and style, and the bundled @simplewebauthn/browser. */
function loadAssets(): Map<string, Asset> {
  const own = uiAssetDir();
  const browserEntry = require.resolve("@simplewebauthn/browser");
  const bundle = path.join(
    browserEntry.slice(0, browserEntry.lastIndexOf(`${path.sep}script${path.sep}`)),
    "dist",
    "bundle",
    "index.umd.min.js",
  );
  const js = "text/javascript; charset=utf-8";
  return new Map<string, Asset>([
    ["register.js", { type: js, body: fs.readFileSync(path.join(own, "register.js")) }],
    [
      "register.css",
      { type: "text/css; charset=utf-8", body: fs.readFileSync(path.join(own, "register.css")) },
    ],
    ["simplewebauthn-browser.js", { type: js, body: fs.readFileSync(bundle) }],
  ]);
}

/** The hosted pages' own files (src/ui/assets, also when running from dist/). */
export function uiAssetDir(): string {
  return path.join(packageRoot(), "src", "ui", "assets");
}

/** The folder holding package.json: the same from src/ (ts-jest) and from dist/src/ (node). */
function packageRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, "package.json"))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error("package.json not found above " + __dirname);
    dir = parent;
  }
  return dir;
}

/** The supported language with the highest q in Accept-Language (primary subtag), else English. */
export function pickLanguage(header: string | undefined): string {
  let best = { tag: DEFAULT_LANGUAGE, q: 0 };
  for (const part of (header ?? "").split(",")) {
    const [range = "", ...params] = part.trim().split(";");
    const tag = range.trim().toLowerCase().split("-")[0] ?? "";
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    const q = qParam ? Number(qParam.slice(2)) : 1;
    if (tag in PAGE_TEXTS && Number.isFinite(q) && q > best.q) best = { tag, q };
  }
  return best.tag;
}

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!,
  );

/** Paths are relative, so the page also works behind a proxy that serves it under a prefix. */
function renderPage(t: PageTexts): string {
  const e = escapeHtml;
  const outcomes = Object.entries(t.outcomes)
    .map(([outcome, text]) => `<p data-outcome="${outcome}" hidden>${e(text)}</p>`)
    .join("\n");
  return `<!DOCTYPE html>
<html lang="${t.lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="no-referrer">
<title>${e(t.title)}</title>
<link rel="stylesheet" href="../../../assets/register.css">
</head>
<body>
<main>
<h1>${e(t.heading)}</h1>
<p>${e(t.intro)}</p>
<form id="register" data-graphql="../../../../graphql">
<label for="passkey-name">${e(t.nameLabel)}</label>
<input id="passkey-name" name="passkeyName" maxlength="200" required autocomplete="off" value="${e(t.defaultName)}">
<button type="submit" id="register-button">${e(t.button)}</button>
</form>
<div id="status" role="status" aria-live="polite">
<p id="working" hidden>${e(t.working)}</p>
${outcomes}
</div>
</main>
<script src="../../../assets/simplewebauthn-browser.js"></script>
<script src="../../../assets/register.js"></script>
</body>
</html>
`;
}
