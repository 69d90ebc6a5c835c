// The account page's words, per language. Status messages are in the HTML; the few words the
// script puts next to each passkey are in a hidden list it reads by key (never as HTML).
export type AccountOutcome =
  | "link_ready"
  | "link_sent"
  | "link_failed"
  | "passkey_added"
  | "removed"
  | "reauth"
  | "reauth_failed"
  | "last_passkey"
  | "rate_limited"
  | "error";

export type AccountWord =
  | "provider"
  | "added"
  | "lastUsed"
  | "neverUsed"
  | "synced"
  | "deviceBound"
  | "cloneWarning"
  | "remove"
  | "confirmRemove"
  | "confirmLast"
  | "none";

export interface AccountTexts {
  lang: string;
  title: string;
  heading: string;
  signedInAs: string;
  signOut: string;
  passkeysHeading: string;
  addHeading: string;
  addIntro: string;
  addButton: string;
  emailButton: string;
  qrLabel: string;
  qrHint: string;
  expiresAt: string;
  closeQr: string;
  working: string;
  outcomes: Record<AccountOutcome, string>;
  words: Record<AccountWord, string>;
}

const en: AccountTexts = {
  lang: "en",
  title: "Your account",
  heading: "Your account",
  signedInAs: "Signed in as",
  signOut: "Sign out",
  passkeysHeading: "Your passkeys",
  addHeading: "Add a device",
  addIntro:
    "Add a passkey on another device, for example your phone: show a QR code here and scan it with the phone's camera, or get the link by email.",
  addButton: "Add a device",
  emailButton: "Email it to me instead",
  qrLabel: "QR code with a one-time link to add a passkey",
  qrHint:
    "Scan this code with the camera of the new device and follow the link. Anyone who scans it can add a passkey to your account: do not share it.",
  expiresAt: "The code is valid until",
  closeQr: "Hide the code",
  working: "One moment…",
  outcomes: {
    link_ready: "The QR code is ready. Scan it with the new device.",
    link_sent: "We sent a link to your email address. Open it on the new device.",
    link_failed: "No link could be created for your account. Contact your administrator.",
    passkey_added: "A new passkey was added to your account.",
    removed: "The passkey was removed.",
    reauth: "Confirm it is you: use your passkey.",
    reauth_failed: "The passkey check was cancelled. Nothing was changed; try again.",
    last_passkey: "Nothing was removed: this is your last passkey.",
    rate_limited: "Too many attempts. Wait a minute, then try again.",
    error: "Something went wrong. Try again in a moment.",
  },
  words: {
    provider: "Provider",
    added: "Added",
    lastUsed: "Last used",
    neverUsed: "Not used to sign in yet",
    synced: "Synced passkey",
    deviceBound: "Device-bound passkey",
    cloneWarning:
      "Warning: this passkey may have been copied. If you do not recognise recent sign-ins, remove it.",
    remove: "Remove",
    confirmRemove: "Remove the passkey “{name}”? You can no longer sign in with it.",
    confirmLast:
      "“{name}” is your last passkey. Without it you cannot sign in until someone sends you a new link. Remove it anyway?",
    none: "No passkeys.",
  },
};

const de: AccountTexts = {
  lang: "de",
  title: "Ihr Konto",
  heading: "Ihr Konto",
  signedInAs: "Angemeldet als",
  signOut: "Abmelden",
  passkeysHeading: "Ihre Passkeys",
  addHeading: "Gerät hinzufügen",
  addIntro:
    "Richten Sie einen Passkey auf einem weiteren Gerät ein, zum Beispiel Ihrem Smartphone: Zeigen Sie hier einen QR-Code an und scannen Sie ihn mit der Kamera des Geräts, oder erhalten Sie den Link per E-Mail.",
  addButton: "Gerät hinzufügen",
  emailButton: "Stattdessen per E-Mail senden",
  qrLabel: "QR-Code mit einem einmaligen Link zum Einrichten eines Passkeys",
  qrHint:
    "Scannen Sie diesen Code mit der Kamera des neuen Geräts und folgen Sie dem Link. Wer ihn scannt, kann Ihrem Konto einen Passkey hinzufügen: Geben Sie ihn nicht weiter.",
  expiresAt: "Der Code gilt bis",
  closeQr: "Code ausblenden",
  working: "Einen Moment …",
  outcomes: {
    link_ready: "Der QR-Code ist bereit. Scannen Sie ihn mit dem neuen Gerät.",
    link_sent:
      "Wir haben Ihnen einen Link per E-Mail gesendet. Öffnen Sie ihn auf dem neuen Gerät.",
    link_failed:
      "Für Ihr Konto kann kein Link erstellt werden. Wenden Sie sich an Ihre Administration.",
    passkey_added: "Ihrem Konto wurde ein neuer Passkey hinzugefügt.",
    removed: "Der Passkey wurde entfernt.",
    reauth: "Bestätigen Sie, dass Sie es sind: Verwenden Sie Ihren Passkey.",
    reauth_failed:
      "Die Passkey-Prüfung wurde abgebrochen. Es wurde nichts geändert; versuchen Sie es erneut.",
    last_passkey: "Es wurde nichts entfernt: Das ist Ihr letzter Passkey.",
    rate_limited: "Zu viele Versuche. Warten Sie eine Minute und versuchen Sie es dann erneut.",
    error: "Etwas ist schiefgegangen. Versuchen Sie es gleich noch einmal.",
  },
  words: {
    provider: "Anbieter",
    added: "Hinzugefügt",
    lastUsed: "Zuletzt verwendet",
    neverUsed: "Noch nicht zur Anmeldung verwendet",
    synced: "Synchronisierter Passkey",
    deviceBound: "Gerätegebundener Passkey",
    cloneWarning:
      "Warnung: Dieser Passkey wurde möglicherweise kopiert. Wenn Sie die letzten Anmeldungen nicht kennen, entfernen Sie ihn.",
    remove: "Entfernen",
    confirmRemove:
      "Den Passkey „{name}“ entfernen? Sie können sich dann nicht mehr damit anmelden.",
    confirmLast:
      "„{name}“ ist Ihr letzter Passkey. Ohne ihn können Sie sich erst wieder anmelden, wenn Ihnen jemand einen neuen Link sendet. Trotzdem entfernen?",
    none: "Keine Passkeys.",
  },
};

export const ACCOUNT_TEXTS = { en, de };
