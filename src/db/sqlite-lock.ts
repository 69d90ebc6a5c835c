// One server process per SQLite file (issue 20): SQLite is the one-process default, and a second
// process would run a second outbox worker and fight for the write lock. An exclusive lock file
// beside the database, holding the owner's pid, is taken at start-up and removed at stop; a lock
// left by a process that no longer runs is taken over. Apps in one process (the tests) share it.
import fs from "node:fs";
import path from "node:path";

export class DatabaseInUseError extends Error {
  constructor(database: string, lockFile: string, pid: number) {
    super(
      `the SQLite database ${database} is in use by another server process (pid ${pid}, ` +
        `lock file ${lockFile}); SQLite serves one process, several need MySQL/MariaDB ` +
        "(DATABASE_URL=mysql://...)",
    );
    this.name = "DatabaseInUseError";
  }
}

const held = new Map<string, number>();

/** Takes the lock of the SQLite file `database`; resolves to its release. */
export function lockSqliteFile(database: string): () => void {
  const lockFile = `${database}.lock`;
  const count = held.get(lockFile) ?? 0;
  if (count === 0) takeOver(database, lockFile);
  held.set(lockFile, count + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const left = (held.get(lockFile) ?? 1) - 1;
    if (left > 0) {
      held.set(lockFile, left);
      return;
    }
    held.delete(lockFile);
    fs.rmSync(lockFile, { force: true });
  };
}

function takeOver(database: string, lockFile: string): void {
  fs.mkdirSync(path.dirname(path.resolve(lockFile)), { recursive: true, mode: 0o700 });
  // Written under a name of its own, then linked into place: link() fails if the lock exists,
  // and a lock file that exists always holds a complete pid.
  const mine = `${lockFile}.${process.pid}`;
  fs.writeFileSync(mine, `${process.pid}\n`, { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        fs.linkSync(mine, lockFile);
        return;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
      const pid = Number.parseInt(readOrEmpty(lockFile), 10);
      // Our own pid in a lock this process does not hold: left by an earlier run (a container
      // restarted under the same pid).
      if (pid > 0 && pid !== process.pid && isRunning(pid))
        throw new DatabaseInUseError(database, lockFile, pid);
      // Its process is gone (a crash, a kill -9): the lock is stale.
      fs.rmSync(lockFile, { force: true });
    }
    throw new Error(`cannot take the lock file ${lockFile}`);
  } finally {
    fs.rmSync(mine, { force: true });
  }
}

function readOrEmpty(file: string): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    return "";
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
