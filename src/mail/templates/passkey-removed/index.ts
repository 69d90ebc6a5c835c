// The built-in languages of the "a passkey was removed" notice.
export { default as en } from "./en";
export { default as de } from "./de";
