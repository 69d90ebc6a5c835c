// English notice that a passkey was added; also the fallback for other languages.
import type { MailTemplateSource } from "../../mail-templates";
import { P, P_NOTE, htmlMail } from "../layout";

export default {
  language: "en",
  subject: "A passkey was added to your account",
  html: htmlMail(
    "en",
    "A passkey was added",
    `
<p style="${P}">Hello {{displayName}},</p>
<p style="${P}">a new passkey named “{{passkeyName}}” was added to your account on {{addedAt}}. From now on it can sign you in without a password.</p>
<p style="${P}">If that was you, there is nothing to do.</p>
<p style="${P_NOTE}">If it was not you, contact your administrator or support right away and ask them to remove the passkey and check your account. Do not reply to this mail with any codes or links.</p>
`,
  ),
  text: `Hello {{displayName}},

a new passkey named “{{passkeyName}}” was added to your account on {{addedAt}}. From now on it can sign you in without a password.

If that was you, there is nothing to do.

If it was not you, contact your administrator or support right away and ask them to remove the passkey and check your account. Do not reply to this mail with any codes or links.
`,
} satisfies MailTemplateSource;
