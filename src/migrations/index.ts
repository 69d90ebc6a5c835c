// Every migration, in order. New schema changes are new files here; committed ones never change.
import { Identity1763700000000 } from "./1763700000000-identity";

export const MIGRATIONS = [Identity1763700000000];
