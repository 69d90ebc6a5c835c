// The account page (SPEC 19): who is signed in, the passkeys, "Add a device" by QR code, sign
// out. GET serves static HTML with no personal data: the script reads the session token from the
// tab's sessionStorage and asks /graphql with it as a bearer.
import type { FastifyInstance } from "fastify";
import type { AccountTexts } from "./account-texts";
import { ACCOUNT_TEXTS } from "./account-texts";
import { escapeHtml, outcomeMessages, pageHead, sendPage } from "./page-common";

export const ACCOUNT_PAGE_PATH = "/ui/console/users/me";

export function registerAccountPage(http: FastifyInstance): void {
  const pages = { en: renderPage(ACCOUNT_TEXTS.en), de: renderPage(ACCOUNT_TEXTS.de) };
  http.get(ACCOUNT_PAGE_PATH, (request, reply) => sendPage(request, reply, pages));
}

/** Relative paths: from /ui/console/users/me, "../../" is /ui/ and "../../../" the root. */
function renderPage(t: AccountTexts): string {
  const e = escapeHtml;
  const words = Object.entries(t.words)
    .map(([key, text]) => `<span data-word="${key}">${e(text)}</span>`)
    .join("\n");
  return `${pageHead(t.lang, t.title, "../../", ["register.css", "account.css"])}
<body data-state="loading">
<main id="account" data-graphql="../../../graphql" data-sign-in="../../login/login">
<header>
<h1>${e(t.heading)}</h1>
<p id="who" hidden>${e(t.signedInAs)} <strong id="display-name"></strong> <span id="login-name"></span></p>
<button type="button" id="sign-out" class="secondary">${e(t.signOut)}</button>
</header>
<section aria-labelledby="passkeys-heading">
<h2 id="passkeys-heading">${e(t.passkeysHeading)}</h2>
<ul id="passkeys" aria-busy="true"></ul>
</section>
<section aria-labelledby="add-heading">
<h2 id="add-heading">${e(t.addHeading)}</h2>
<p>${e(t.addIntro)}</p>
<div class="actions">
<button type="button" id="add-device">${e(t.addButton)}</button>
<button type="button" id="email-link" class="secondary">${e(t.emailButton)}</button>
</div>
<div id="qr-panel" hidden>
<canvas id="qr-code" role="img" aria-label="${e(t.qrLabel)}"></canvas>
<p>${e(t.qrHint)}</p>
<p>${e(t.expiresAt)} <time id="qr-expiry"></time></p>
<button type="button" id="qr-close" class="secondary">${e(t.closeQr)}</button>
</div>
</section>
<div id="status" role="status" aria-live="polite">
<p id="working" hidden>${e(t.working)}</p>
${outcomeMessages(t.outcomes)}
</div>
<div id="words" hidden>
${words}
</div>
</main>
<script src="../../assets/simplewebauthn-browser.js"></script>
<script src="../../assets/qrcode.js"></script>
<script src="../../assets/pages.js"></script>
<script src="../../assets/account.js"></script>
</body>
</html>
`;
}
