// The registration page's words, per language. Outcome texts are in the HTML, so the script only
// chooses which one to show and never builds text itself.
export interface PageTexts {
  lang: string;
  title: string;
  heading: string;
  intro: string;
  nameLabel: string;
  defaultName: string;
  button: string;
  working: string;
  /** The link to the sign-in page, after success. */
  signIn: string;
  outcomes: Record<Outcome, string>;
}

export type Outcome =
  | "success"
  | "expired"
  | "used"
  | "revoked"
  | "locked_out"
  | "invalid"
  | "inactive"
  | "cancelled"
  | "exists"
  | "unsupported"
  | "error";

const en: PageTexts = {
  lang: "en",
  title: "Register a passkey",
  heading: "Add a passkey on this device",
  intro:
    "A passkey lets you sign in without a password, with Face ID, a fingerprint, Windows Hello or a security key. Nothing happens until you press the button.",
  nameLabel: "Name of the passkey",
  defaultName: "My passkey",
  button: "Register passkey",
  working: "Follow the prompt of your device…",
  signIn: "Sign in",
  outcomes: {
    success: "Done: your passkey is registered. You can close this page, or sign in with it here:",
    expired: "This link has expired. Ask for a new one.",
    used: "This link was already used. Ask for a new one to add another passkey.",
    revoked: "This link was revoked. Ask for a new one.",
    locked_out: "This link was locked after too many attempts. Ask for a new one.",
    invalid:
      "This link is not valid. Check that you opened the whole link from the mail, or ask for a new one.",
    inactive: "Your account cannot register passkeys right now. Contact your administrator.",
    cancelled: "The passkey prompt was cancelled or timed out. Try again: this link still works.",
    exists: "This device already holds a passkey for your account.",
    unsupported:
      "This browser or device does not support passkeys. Open the link in a current browser (Safari, Chrome, Edge or Firefox).",
    error: "Something went wrong. Try again in a moment: this link still works.",
  },
};

const de: PageTexts = {
  lang: "de",
  title: "Passkey einrichten",
  heading: "Passkey auf diesem Gerät einrichten",
  intro:
    "Mit einem Passkey melden Sie sich ohne Passwort an, per Face ID, Fingerabdruck, Windows Hello oder Sicherheitsschlüssel. Es passiert nichts, bevor Sie die Schaltfläche drücken.",
  nameLabel: "Name des Passkeys",
  defaultName: "Mein Passkey",
  button: "Passkey einrichten",
  working: "Folgen Sie der Aufforderung Ihres Geräts …",
  signIn: "Anmelden",
  outcomes: {
    success:
      "Fertig: Ihr Passkey ist eingerichtet. Sie können diese Seite schließen oder sich hier damit anmelden:",
    expired: "Dieser Link ist abgelaufen. Fordern Sie bitte einen neuen an.",
    used: "Dieser Link wurde bereits verwendet. Für einen weiteren Passkey fordern Sie bitte einen neuen an.",
    revoked: "Dieser Link wurde widerrufen. Fordern Sie bitte einen neuen an.",
    locked_out:
      "Dieser Link wurde nach zu vielen Versuchen gesperrt. Fordern Sie bitte einen neuen an.",
    invalid:
      "Dieser Link ist ungültig. Prüfen Sie, ob Sie den ganzen Link aus der E-Mail geöffnet haben, oder fordern Sie einen neuen an.",
    inactive:
      "Für Ihr Konto können derzeit keine Passkeys eingerichtet werden. Wenden Sie sich an Ihre Administration.",
    cancelled:
      "Die Passkey-Abfrage wurde abgebrochen oder ist abgelaufen. Versuchen Sie es erneut: Der Link gilt weiterhin.",
    exists: "Auf diesem Gerät gibt es bereits einen Passkey für Ihr Konto.",
    unsupported:
      "Dieser Browser oder dieses Gerät unterstützt keine Passkeys. Öffnen Sie den Link in einem aktuellen Browser (Safari, Chrome, Edge oder Firefox).",
    error:
      "Etwas ist schiefgegangen. Versuchen Sie es gleich noch einmal: Der Link gilt weiterhin.",
  },
};

export const PAGE_TEXTS = { en, de };
