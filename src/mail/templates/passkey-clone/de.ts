// German notice that a passkey may have been copied, addressing the reader formally ("Sie").
import type { MailTemplateSource } from "../../mail-templates";
import { P, P_NOTE, htmlMail } from "../layout";

export default {
  language: "de",
  subject: "Ein Passkey Ihres Kontos wurde möglicherweise kopiert",
  html: htmlMail(
    "de",
    "Ein Passkey wurde möglicherweise kopiert",
    `
<p style="${P}">Guten Tag {{displayName}},</p>
<p style="${P}">am {{detectedAt}} wurde eine Anmeldung mit Ihrem Passkey „{{passkeyName}}“{{#if provider}} ({{provider}}){{/if}} abgelehnt: Das Gerät meldete einen Signaturzähler, der niedriger war als ein bereits gesehener. Das kann bedeuten, dass der Passkey auf ein anderes Gerät kopiert wurde. Wir haben die mit diesem Passkey erfolgten Anmeldungen beendet und ihn in Ihrer Passkey-Liste markiert.</p>
<p style="${P}">Prüfen Sie die Geräte, auf denen dieser Passkey liegt. Wenn Sie eines davon nicht kennen oder unsicher sind, entfernen Sie den Passkey von Ihrem Konto und registrieren Sie einen neuen auf einem Gerät, dem Sie vertrauen.</p>
<p style="${P_NOTE}">Wenn Sie alle Geräte kennen (zum Beispiel, weil Sie ein Gerät aus einer Sicherung wiederhergestellt haben), können Sie den Passkey behalten. Wenn Sie Hilfe brauchen, wenden Sie sich an Ihre Administration oder den Support. Senden Sie niemandem Codes oder Links aus E-Mails.</p>
`,
  ),
  text: `Guten Tag {{displayName}},

am {{detectedAt}} wurde eine Anmeldung mit Ihrem Passkey „{{passkeyName}}“{{#if provider}} ({{provider}}){{/if}} abgelehnt: Das Gerät meldete einen Signaturzähler, der niedriger war als ein bereits gesehener. Das kann bedeuten, dass der Passkey auf ein anderes Gerät kopiert wurde. Wir haben die mit diesem Passkey erfolgten Anmeldungen beendet und ihn in Ihrer Passkey-Liste markiert.

Prüfen Sie die Geräte, auf denen dieser Passkey liegt. Wenn Sie eines davon nicht kennen oder unsicher sind, entfernen Sie den Passkey von Ihrem Konto und registrieren Sie einen neuen auf einem Gerät, dem Sie vertrauen.

Wenn Sie alle Geräte kennen (zum Beispiel, weil Sie ein Gerät aus einer Sicherung wiederhergestellt haben), können Sie den Passkey behalten. Wenn Sie Hilfe brauchen, wenden Sie sich an Ihre Administration oder den Support. Senden Sie niemandem Codes oder Links aus E-Mails.
`,
} satisfies MailTemplateSource;
