// German notice that a passkey was removed, addressing the reader formally ("Sie").
import type { MailTemplateSource } from "../../mail-templates";
import { P, P_NOTE, htmlMail } from "../layout";

export default {
  language: "de",
  subject: "Ein Passkey wurde von Ihrem Konto entfernt",
  html: htmlMail(
    "de",
    "Ein Passkey wurde entfernt",
    `
<p style="${P}">Guten Tag {{displayName}},</p>
<p style="${P}">am {{removedAt}} wurde der Passkey mit dem Namen „{{passkeyName}}“ von Ihrem Konto entfernt. Mit ihm können Sie sich nicht mehr anmelden.</p>
<p style="${P}">Passkeys werden entfernt, wenn Sie oder Ihre Administration sie entfernen, oder wenn Ihr Konto Rechte erhält, die die Person, die den Passkey erlaubt hat, nicht vergeben durfte.</p>
<p style="${P_NOTE}">Wenn Sie das nicht erwartet haben, wenden Sie sich bitte an Ihre Administration oder den Support. Senden Sie niemandem Codes oder Links aus E-Mails.</p>
`,
  ),
  text: `Guten Tag {{displayName}},

am {{removedAt}} wurde der Passkey mit dem Namen „{{passkeyName}}“ von Ihrem Konto entfernt. Mit ihm können Sie sich nicht mehr anmelden.

Passkeys werden entfernt, wenn Sie oder Ihre Administration sie entfernen, oder wenn Ihr Konto Rechte erhält, die die Person, die den Passkey erlaubt hat, nicht vergeben durfte.

Wenn Sie das nicht erwartet haben, wenden Sie sich bitte an Ihre Administration oder den Support. Senden Sie niemandem Codes oder Links aus E-Mails.
`,
} satisfies MailTemplateSource;
