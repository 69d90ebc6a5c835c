// The sign-in page (SPEC 19). GET serves static HTML: no database access, no session, no event.
// Its script creates a session on /graphql, runs the passkey prompt (button or autofill) and
// keeps the session token in the tab's sessionStorage.
import type { FastifyInstance } from "fastify";
import { escapeHtml, outcomeMessages, pageHead, sendPage } from "./page-common";
import type { SignInTexts } from "./sign-in-texts";
import { SIGN_IN_TEXTS } from "./sign-in-texts";

export const SIGN_IN_PAGE_PATH = "/ui/login/login";

export function registerSignInPage(http: FastifyInstance, sessionLifetimeSeconds: number): void {
  const render = (t: SignInTexts) => renderPage(t, sessionLifetimeSeconds);
  const pages = { en: render(SIGN_IN_TEXTS.en), de: render(SIGN_IN_TEXTS.de) };
  http.get(SIGN_IN_PAGE_PATH, (request, reply) => sendPage(request, reply, pages));
}

/** Relative paths: from /ui/login/login, "../" is /ui/ and "../../" the server's root. */
function renderPage(t: SignInTexts, lifetimeSeconds: number): string {
  const e = escapeHtml;
  return `${pageHead(t.lang, t.title, "../", ["register.css"])}
<body>
<main>
<h1>${e(t.heading)}</h1>
<p>${e(t.intro)}</p>
<form id="sign-in" data-graphql="../../graphql" data-account="../console/users/me" data-lifetime="${lifetimeSeconds}">
<label for="username">${e(t.usernameLabel)}</label>
<input id="username" name="username" maxlength="200" autocomplete="username webauthn" autocapitalize="none" spellcheck="false" aria-describedby="username-hint">
<p id="username-hint" class="hint">${e(t.usernameHint)}</p>
<button type="submit" id="sign-in-button">${e(t.button)}</button>
</form>
<div id="status" role="status" aria-live="polite">
<p id="working" hidden>${e(t.working)}</p>
<p data-outcome="success" hidden>${e(t.success)}</p>
${outcomeMessages(t.outcomes)}
</div>
</main>
<script src="../assets/simplewebauthn-browser.js"></script>
<script src="../assets/pages.js"></script>
<script src="../assets/sign-in.js"></script>
</body>
</html>
`;
}
