// The built-in languages of the "a passkey may have been copied" notice.
export { default as en } from "./en";
export { default as de } from "./de";
