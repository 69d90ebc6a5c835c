// The page a registration link opens. GET serves static HTML (chosen by Accept-Language): no
// database access, no code check, no event, so link scanners and previews spend nothing. The
// page's script calls registerPasskey / verifyPasskeyRegistration on /graphql.
import type { FastifyInstance } from "fastify";
import type { PageTexts } from "./page-texts";
import { PAGE_TEXTS } from "./page-texts";
import { escapeHtml, outcomeMessages, pageHead, sendPage } from "./page-common";

export const REGISTRATION_PAGE_PATH = "/ui/login/login/passwordless/init";

export function registerRegistrationPage(http: FastifyInstance): void {
  const pages = { en: renderPage(PAGE_TEXTS.en), de: renderPage(PAGE_TEXTS.de) };
  http.get(REGISTRATION_PAGE_PATH, (request, reply) => sendPage(request, reply, pages));
}

/** Paths are relative, so the page also works behind a proxy that serves it under a prefix. */
function renderPage(t: PageTexts): string {
  const e = escapeHtml;
  const { success, ...outcomes } = t.outcomes;
  return `${pageHead(t.lang, t.title, "../../../", ["register.css"])}
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
<p data-outcome="success" hidden>${e(success)} <a href="../../login">${e(t.signIn)}</a></p>
${outcomeMessages(outcomes)}
</div>
</main>
<script src="../../../assets/simplewebauthn-browser.js"></script>
<script src="../../../assets/register.js"></script>
</body>
</html>
`;
}
