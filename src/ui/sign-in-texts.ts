// The sign-in page's words, per language. Every message is in the HTML; the script only chooses
// which one to show.
export type SignInOutcome =
  | "cancelled"
  | "unknown"
  | "mismatch"
  | "locked"
  | "inactive"
  | "rate_limited"
  | "clone"
  | "expired"
  | "signed_out"
  | "session_ended"
  | "unsupported"
  | "error";

export interface SignInTexts {
  lang: string;
  title: string;
  heading: string;
  intro: string;
  usernameLabel: string;
  usernameHint: string;
  button: string;
  working: string;
  success: string;
  outcomes: Record<SignInOutcome, string>;
}

const en: SignInTexts = {
  lang: "en",
  title: "Sign in",
  heading: "Sign in",
  intro:
    "Sign in with a passkey: Face ID, a fingerprint, Windows Hello or a security key. No password needed.",
  usernameLabel: "Username (optional)",
  usernameHint: "Leave it empty to pick your passkey, or choose one from the suggestions.",
  button: "Sign in with a passkey",
  working: "Follow the prompt of your device…",
  success: "Signed in. Opening your account…",
  outcomes: {
    cancelled: "The passkey prompt was cancelled or timed out. Try again.",
    unknown:
      "This passkey is no longer registered for any account here (it was removed). Choose another passkey, or ask for a new registration link.",
    mismatch:
      "That passkey belongs to another account. Use a passkey of the account you named, or leave the username empty.",
    locked: "This account is locked. Contact your administrator.",
    inactive: "This account is deactivated. Contact your administrator.",
    rate_limited: "Too many sign-in attempts. Wait a minute, then try again.",
    clone:
      "This passkey was refused because it may have been copied. Sign in with another passkey and check your account, or contact your administrator.",
    expired: "The sign-in took too long. Try again.",
    signed_out: "You are signed out.",
    session_ended: "Your session has ended. Sign in again.",
    unsupported:
      "This browser or device does not support passkeys. Use a current browser (Safari, Chrome, Edge or Firefox).",
    error: "Something went wrong. Try again in a moment.",
  },
};

const de: SignInTexts = {
  lang: "de",
  title: "Anmelden",
  heading: "Anmelden",
  intro:
    "Melden Sie sich mit einem Passkey an: per Face ID, Fingerabdruck, Windows Hello oder Sicherheitsschlüssel. Kein Passwort nötig.",
  usernameLabel: "Benutzername (optional)",
  usernameHint: "Leer lassen, um Ihren Passkey auszuwählen, oder einen aus den Vorschlägen wählen.",
  button: "Mit einem Passkey anmelden",
  working: "Folgen Sie der Aufforderung Ihres Geräts …",
  success: "Angemeldet. Ihr Konto wird geöffnet …",
  outcomes: {
    cancelled:
      "Die Passkey-Abfrage wurde abgebrochen oder ist abgelaufen. Versuchen Sie es erneut.",
    unknown:
      "Dieser Passkey ist hier für kein Konto mehr registriert (er wurde entfernt). Wählen Sie einen anderen Passkey oder fordern Sie einen neuen Registrierungslink an.",
    mismatch:
      "Dieser Passkey gehört zu einem anderen Konto. Verwenden Sie einen Passkey des genannten Kontos oder lassen Sie den Benutzernamen leer.",
    locked: "Dieses Konto ist gesperrt. Wenden Sie sich an Ihre Administration.",
    inactive: "Dieses Konto ist deaktiviert. Wenden Sie sich an Ihre Administration.",
    rate_limited:
      "Zu viele Anmeldeversuche. Warten Sie eine Minute und versuchen Sie es dann erneut.",
    clone:
      "Dieser Passkey wurde abgelehnt, weil er kopiert worden sein könnte. Melden Sie sich mit einem anderen Passkey an und prüfen Sie Ihr Konto, oder wenden Sie sich an Ihre Administration.",
    expired: "Die Anmeldung hat zu lange gedauert. Versuchen Sie es erneut.",
    signed_out: "Sie sind abgemeldet.",
    session_ended: "Ihre Sitzung ist beendet. Melden Sie sich erneut an.",
    unsupported:
      "Dieser Browser oder dieses Gerät unterstützt keine Passkeys. Verwenden Sie einen aktuellen Browser (Safari, Chrome, Edge oder Firefox).",
    error: "Etwas ist schiefgegangen. Versuchen Sie es gleich noch einmal.",
  },
};

export const SIGN_IN_TEXTS = { en, de };
