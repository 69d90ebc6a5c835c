// German notice that a passkey was added, addressing the reader formally ("Sie").
import type { MailTemplateSource } from "../../mail-templates";
import { P, P_NOTE, htmlMail } from "../layout";

export default {
  language: "de",
  subject: "Ein Passkey wurde zu Ihrem Konto hinzugefügt",
  html: htmlMail(
    "de",
    "Ein Passkey wurde hinzugefügt",
    `
<p style="${P}">Guten Tag {{displayName}},</p>
<p style="${P}">am {{addedAt}} wurde Ihrem Konto ein neuer Passkey mit dem Namen „{{passkeyName}}“ hinzugefügt. Mit ihm können Sie sich ab jetzt ohne Passwort anmelden.</p>
<p style="${P}">Wenn Sie das waren, ist nichts weiter zu tun.</p>
<p style="${P_NOTE}">Wenn Sie das nicht waren, wenden Sie sich bitte sofort an Ihre Administration oder den Support und lassen Sie den Passkey entfernen und Ihr Konto prüfen. Senden Sie niemandem Codes oder Links aus E-Mails.</p>
`,
  ),
  text: `Guten Tag {{displayName}},

am {{addedAt}} wurde Ihrem Konto ein neuer Passkey mit dem Namen „{{passkeyName}}“ hinzugefügt. Mit ihm können Sie sich ab jetzt ohne Passwort anmelden.

Wenn Sie das waren, ist nichts weiter zu tun.

Wenn Sie das nicht waren, wenden Sie sich bitte sofort an Ihre Administration oder den Support und lassen Sie den Passkey entfernen und Ihr Konto prüfen. Senden Sie niemandem Codes oder Links aus E-Mails.
`,
} satisfies MailTemplateSource;
