// English notice that a passkey may have been copied (its signature counter went back); also the
// fallback for other languages.
import type { MailTemplateSource } from "../../mail-templates";
import { P, P_NOTE, htmlMail } from "../layout";

export default {
  language: "en",
  subject: "A passkey of your account may have been copied",
  html: htmlMail(
    "en",
    "A passkey may have been copied",
    `
<p style="${P}">Hello {{displayName}},</p>
<p style="${P}">on {{detectedAt}} a sign-in with your passkey named “{{passkeyName}}”{{#if provider}} ({{provider}}){{/if}} was refused: the device reported a signature counter lower than one seen before. This can mean that the passkey was copied to another device. We ended the sign-ins made with this passkey and marked it in your list of passkeys.</p>
<p style="${P}">Look at the devices that hold this passkey. If you do not recognise one of them, or are not sure, remove the passkey from your account and register a new one on a device you trust.</p>
<p style="${P_NOTE}">If you recognise all of them (for example, you restored a device from a backup), you may keep the passkey. If you need help, contact your administrator or support. Do not reply to this mail with any codes or links.</p>
`,
  ),
  text: `Hello {{displayName}},

on {{detectedAt}} a sign-in with your passkey named “{{passkeyName}}”{{#if provider}} ({{provider}}){{/if}} was refused: the device reported a signature counter lower than one seen before. This can mean that the passkey was copied to another device. We ended the sign-ins made with this passkey and marked it in your list of passkeys.

Look at the devices that hold this passkey. If you do not recognise one of them, or are not sure, remove the passkey from your account and register a new one on a device you trust.

If you recognise all of them (for example, you restored a device from a backup), you may keep the passkey. If you need help, contact your administrator or support. Do not reply to this mail with any codes or links.
`,
} satisfies MailTemplateSource;
