// English passkey link mail; also the fallback for every language without its own template.
import type { MailTemplateSource } from "../mail-templates";
import { P, P_NOTE, htmlMail } from "./layout";

export default {
  language: "en",
  subject: "Your link to register a passkey",
  html: htmlMail(
    "en",
    "Register a passkey",
    `
<p style="${P}">Hello {{displayName}},</p>
<p style="${P}">Use the button below to register a passkey on your new device, for example with Face ID, a fingerprint or a security key. You will not need a password.</p>
<table role="presentation" cellpadding="0" cellspacing="0" border="0" style="margin:24px 0;">
<tr>
<td align="center" bgcolor="#1a56db" style="border-radius:6px;background-color:#1a56db;">
<a href="{{link}}" target="_blank" style="display:inline-block;padding:12px 28px;font-family:Arial,Helvetica,sans-serif;font-size:16px;font-weight:bold;line-height:24px;color:#ffffff;text-decoration:none;border-radius:6px;">Register passkey</a>
</td>
</tr>
</table>
<p style="margin:0 0 8px;">Or copy this link into your browser:</p>
<p style="margin:0 0 24px;font-size:14px;line-height:20px;word-break:break-all;color:#52606d;">{{link}}</p>
<p style="${P}">The link is valid for {{validFor}} (until {{expiresAt}}) and works only once.</p>
<p style="${P_NOTE}">If you did not ask for this, ignore this mail; nothing changes on your account.</p>
`,
  ),
  text: `Hello {{displayName}},

Use the link below to register a passkey on your new device, for example with Face ID, a fingerprint or a security key. You will not need a password.

{{link}}

The link is valid for {{validFor}} (until {{expiresAt}}) and works only once.

If you did not ask for this, ignore this mail; nothing changes on your account.
`,
} satisfies MailTemplateSource;
