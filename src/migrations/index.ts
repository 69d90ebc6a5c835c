// Every migration, in order. New schema changes are new files here; committed ones never change.
import { Identity1763700000000 } from "./1763700000000-identity";
import { PasskeyCodesAndOutbox1763800000000 } from "./1763800000000-passkey-codes-and-outbox";

export const MIGRATIONS = [Identity1763700000000, PasskeyCodesAndOutbox1763800000000];
