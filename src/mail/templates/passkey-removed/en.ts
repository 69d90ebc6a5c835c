// English notice that a passkey was removed; also the fallback for other languages.
import type { MailTemplateSource } from "../../mail-templates";
import { P, P_NOTE, htmlMail } from "../layout";

export default {
  language: "en",
  subject: "A passkey was removed from your account",
  html: htmlMail(
    "en",
    "A passkey was removed",
    `
<p style="${P}">Hello {{displayName}},</p>
<p style="${P}">the passkey named “{{passkeyName}}” was removed from your account on {{removedAt}}. It can no longer sign you in.</p>
<p style="${P}">Passkeys are removed when you or an administrator remove them, or when your account gains rights that the person who allowed the passkey could not grant.</p>
<p style="${P_NOTE}">If you did not expect this, contact your administrator or support. Do not reply to this mail with any codes or links.</p>
`,
  ),
  text: `Hello {{displayName}},

the passkey named “{{passkeyName}}” was removed from your account on {{removedAt}}. It can no longer sign you in.

Passkeys are removed when you or an administrator remove them, or when your account gains rights that the person who allowed the passkey could not grant.

If you did not expect this, contact your administrator or support. Do not reply to this mail with any codes or links.
`,
} satisfies MailTemplateSource;
