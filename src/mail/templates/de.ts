// German passkey link mail, addressing the reader formally ("Sie").
import type { MailTemplateSource } from "../mail-templates";
import { P, P_NOTE, htmlMail } from "./layout";

export default {
  language: "de",
  subject: "Ihr Link zum Einrichten eines Passkeys",
  html: htmlMail(
    "de",
    "Passkey einrichten",
    `
<p style="${P}">Guten Tag {{displayName}},</p>
<p style="${P}">über die Schaltfläche unten richten Sie auf Ihrem neuen Gerät einen Passkey ein, zum Beispiel mit Face ID, per Fingerabdruck oder mit einem Sicherheitsschlüssel. Ein Passwort brauchen Sie dafür nicht.</p>
<table role="presentation" cellpadding="0" cellspacing="0" border="0" style="margin:24px 0;">
<tr>
<td align="center" bgcolor="#1a56db" style="border-radius:6px;background-color:#1a56db;">
<a href="{{link}}" target="_blank" style="display:inline-block;padding:12px 28px;font-family:Arial,Helvetica,sans-serif;font-size:16px;font-weight:bold;line-height:24px;color:#ffffff;text-decoration:none;border-radius:6px;">Passkey einrichten</a>
</td>
</tr>
</table>
<p style="margin:0 0 8px;">Oder kopieren Sie diesen Link in Ihren Browser:</p>
<p style="margin:0 0 24px;font-size:14px;line-height:20px;word-break:break-all;color:#52606d;">{{link}}</p>
<p style="${P}">Der Link ist {{validFor}} lang gültig (bis {{expiresAt}}) und kann nur einmal verwendet werden.</p>
<p style="${P_NOTE}">Falls Sie das nicht angefordert haben, ignorieren Sie diese E-Mail einfach; an Ihrem Konto ändert sich nichts.</p>
`,
  ),
  text: `Guten Tag {{displayName}},

über den folgenden Link richten Sie auf Ihrem neuen Gerät einen Passkey ein, zum Beispiel mit Face ID, per Fingerabdruck oder mit einem Sicherheitsschlüssel. Ein Passwort brauchen Sie dafür nicht.

{{link}}

Der Link ist {{validFor}} lang gültig (bis {{expiresAt}}) und kann nur einmal verwendet werden.

Falls Sie das nicht angefordert haben, ignorieren Sie diese E-Mail einfach; an Ihrem Konto ändert sich nichts.
`,
} satisfies MailTemplateSource;
