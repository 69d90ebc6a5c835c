// The master key checked against the data (issue 20): the database keeps the key's fingerprint
// from the first start with a key, and a start with another key is refused before anything is
// written, instead of every valid code failing as CODE-invalid and burning toward lockout.
import type { Database } from "../db/database";
import { KEY_FINGERPRINT_ROW_ID, KeyFingerprintEntity } from "../entities/key-fingerprint.entity";
import type { Clock } from "./clock";
import { KeyRing } from "./key-ring";

export class KeyMismatchError extends Error {
  constructor(source: string, stored: string, actual: string) {
    super(
      `${source} does not match the key the data in this database was written with ` +
        `(key fingerprint ${stored.slice(0, 8)}…, this key's ${actual.slice(0, 8)}…); ` +
        "start with the original key",
    );
    this.name = "KeyMismatchError";
  }
}

/**
 * The master key for `db`: read (or drawn on a first run without MASTER_KEY), checked against the
 * stored fingerprint, then the new key file is written, `migrate` runs, and the fingerprint is
 * stored if the database has none yet (a new one, or one from before fingerprints).
 */
export async function openKeyRing(
  settings: { masterKey: Buffer | undefined; dataDir: string },
  db: Database,
  clock: Clock,
  migrate: () => Promise<void> = () => Promise.resolve(),
): Promise<{ keys: KeyRing; createdAt?: string }> {
  const source = settings.masterKey ? "MASTER_KEY" : `the key in ${settings.dataDir}/master.key`;
  const loaded = KeyRing.load(settings.masterKey, settings.dataDir);
  const before = await storedFingerprint(db);
  if (before !== undefined && before !== loaded.keys.fingerprint) {
    throw new KeyMismatchError(source, before, loaded.keys.fingerprint);
  }
  const opened = loaded.save ? loaded.save() : { keys: loaded.keys };
  await migrate();
  const stored = await recordFingerprint(db, opened.keys.fingerprint, clock);
  if (stored !== opened.keys.fingerprint) {
    throw new KeyMismatchError(source, stored, opened.keys.fingerprint);
  }
  return opened;
}

/** The stored fingerprint; undefined when none is stored or the table is not there yet. */
async function storedFingerprint(db: Database): Promise<string | undefined> {
  const runner = db.dataSource.createQueryRunner();
  try {
    if (!(await runner.hasTable("key_fingerprint"))) return undefined;
  } finally {
    await runner.release();
  }
  const row = await db.read((em) =>
    em.findOne(KeyFingerprintEntity, { where: { id: KEY_FINGERPRINT_ROW_ID } }),
  );
  return row?.fingerprint;
}

/** Stores `fingerprint` unless one is stored; resolves to the one that is stored now. */
async function recordFingerprint(db: Database, fingerprint: string, clock: Clock): Promise<string> {
  return db.transaction(async (tx) => {
    await tx
      .createQueryBuilder()
      .insert()
      .into(KeyFingerprintEntity)
      .values({ id: KEY_FINGERPRINT_ROW_ID, fingerprint, createdAt: clock.now() })
      .orIgnore()
      .updateEntity(false)
      .execute();
    const row = await tx.findOneOrFail(KeyFingerprintEntity, {
      where: { id: KEY_FINGERPRINT_ROW_ID },
    });
    return row.fingerprint;
  });
}
