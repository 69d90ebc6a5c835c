// The built-in languages of the "a passkey was added" notice.
export { default as en } from "./en";
export { default as de } from "./de";
