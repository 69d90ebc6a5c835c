// Rebuilds src/services/passkeys/authenticator-names.json from the community AAGUID list
// (passkeydeveloper/passkey-authenticator-aaguids, aaguid.json): the AAGUID -> provider name facts
// only. The list has no licence file and its icons are the providers' logos, so no icon is kept.
//
//   npm run build && node dist/scripts/refresh-aaguids.js <aaguid.json path or URL> [--commit <sha>] [--out <file>]
//
// The list's README says it may be retired to an empty object: an empty (or unusable) list is
// refused with exit code 1 and the committed file is left as it is.
import fs from "node:fs";
import path from "node:path";

export const SOURCE_REPOSITORY =
  "https://github.com/passkeydeveloper/passkey-authenticator-aaguids";

/** What we commit: where the facts come from, and the facts. */
export interface AuthenticatorNames {
  source: { repository: string; file: string; commit: string; note: string };
  names: Record<string, string>;
}

export class RefusedList extends Error {
  override name = "RefusedList";
}

const AAGUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** "No AAGUID" (many authenticators under attestation "none"): never a provider. */
const ZERO_AAGUID = "00000000-0000-0000-0000-000000000000";
const MAX_NAME_LENGTH = 100;
/** Control, format (bidi overrides, zero-width) and separator characters other than a plain space. */
const UNSAFE_CHARACTER = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]|[^\S ]/u;

/**
 * The AAGUID -> name pairs of a parsed aaguid.json, sorted by AAGUID; `skipped` says which entries
 * were left out and why. Throws RefusedList when no usable entry remains (an empty object first).
 */
export function extractNames(list: unknown): {
  names: Record<string, string>;
  skipped: string[];
} {
  if (typeof list !== "object" || list === null || Array.isArray(list)) {
    throw new RefusedList("the AAGUID list is not a JSON object");
  }
  const entries = Object.entries(list);
  if (entries.length === 0) {
    throw new RefusedList(
      "the AAGUID list is empty: the community list may have been retired (see its README); " +
        "the committed names were kept",
    );
  }
  const names = new Map<string, string>();
  const skipped: string[] = [];
  for (const [key, value] of entries) {
    const aaguid = key.trim().toLowerCase();
    const raw: unknown =
      typeof value === "object" && value !== null ? (value as { name?: unknown }).name : undefined;
    const name = typeof raw === "string" ? raw.trim() : "";
    const problem = !AAGUID.test(aaguid)
      ? "not an AAGUID"
      : aaguid === ZERO_AAGUID
        ? "the all-zero AAGUID names no provider"
        : names.has(aaguid)
          ? "listed twice"
          : name.length === 0
            ? "no name"
            : name.length > MAX_NAME_LENGTH
              ? `name longer than ${MAX_NAME_LENGTH} characters`
              : UNSAFE_CHARACTER.test(name)
                ? "name with control or invisible characters"
                : undefined;
    if (problem) skipped.push(`${JSON.stringify(key.slice(0, 60))}: ${problem}`);
    else names.set(aaguid, name);
  }
  if (names.size === 0) {
    throw new RefusedList(`the AAGUID list has no usable entry (${skipped.length} skipped)`);
  }
  const sorted = [...names].sort(([a], [b]) => (a < b ? -1 : 1));
  return { names: Object.fromEntries(sorted), skipped };
}

/** The file we commit, formatted as Prettier leaves it. */
export function renderNames(names: Record<string, string>, commit: string): string {
  const document: AuthenticatorNames = {
    source: {
      repository: SOURCE_REPOSITORY,
      file: "aaguid.json",
      commit,
      note:
        "Only the AAGUID -> provider name facts of the community list (it has no licence file; " +
        "its icons, the providers' logos, are not copied). Refresh: scripts/refresh-aaguids.ts.",
    },
    names,
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}

/** A commit named in a raw.githubusercontent.com or github.com/…/raw/ URL, if any. */
function commitInUrl(source: string): string | undefined {
  return /\/([0-9a-f]{40})\/aaguid\.json(?:$|\?)/.exec(source)?.[1];
}

async function readSource(source: string): Promise<string> {
  if (/^https?:\/\//i.test(source)) {
    const response = await fetch(source);
    if (!response.ok) throw new RefusedList(`${source} answered HTTP ${response.status}`);
    return response.text();
  }
  return fs.readFileSync(source, "utf8");
}

/** The folder holding package.json: the same from scripts/ (ts-jest) and dist/scripts/ (node). */
function packageRoot(): string {
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, "package.json"))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`package.json not found above ${__dirname}`);
    dir = parent;
  }
  return dir;
}

function parseArgs(argv: string[]): { source?: string; commit?: string; out: string } {
  const options: { source?: string; commit?: string; out: string } = {
    out: path.join(packageRoot(), "src", "services", "passkeys", "authenticator-names.json"),
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--commit") options.commit = argv[++i];
    else if (arg === "--out") options.out = path.resolve(argv[++i] ?? "");
    else options.source = arg;
  }
  return options;
}

export async function main(argv: string[]): Promise<number> {
  const { source, commit, out } = parseArgs(argv);
  if (!source) {
    process.stderr.write(
      "usage: node dist/scripts/refresh-aaguids.js <aaguid.json path or URL> [--commit <sha>] [--out <file>]\n",
    );
    return 2;
  }
  try {
    if (commit !== undefined && !/^[0-9a-f]{7,40}$/.test(commit)) {
      throw new RefusedList("--commit must be the list's git commit (hex)");
    }
    let list: unknown;
    try {
      list = JSON.parse(await readSource(source));
    } catch (error) {
      if (error instanceof RefusedList) throw error;
      throw new RefusedList(`cannot read ${source}: ${(error as Error).message}`);
    }
    const { names, skipped } = extractNames(list);
    for (const line of skipped) process.stderr.write(`skipped ${line}\n`);
    fs.writeFileSync(out, renderNames(names, commit ?? commitInUrl(source) ?? "unknown"));
    process.stdout.write(`wrote ${Object.keys(names).length} provider names to ${out}\n`);
    return 0;
  } catch (error) {
    if (!(error instanceof RefusedList)) throw error;
    process.stderr.write(`refresh-aaguids: refused: ${error.message}\n`);
    return 1;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
