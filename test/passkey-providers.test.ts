// Passkey providers (SPEC 18): the AAGUID -> name facts we commit, the script that refreshes them
// (names only, an empty list refused), and `provider { name }` on a stored passkey.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { extractNames, renderNames } from "../scripts/refresh-aaguids";
import committed from "../src/services/passkeys/authenticator-names.json";
import { addHuman, addOrg } from "./helpers/fixtures";
import type { TestApp } from "./helpers/harness";
import { startTestApp } from "./helpers/harness";
import { LIST_PASSKEYS, registerWithCode, returnedCode } from "./helpers/passkeys";

const SCRIPT = path.resolve(__dirname, "../dist/scripts/refresh-aaguids.js");
const GOOGLE = "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4";
const ICON = "data:image/svg+xml;base64,PHN2Zy8+";
const COMMIT = "47b6f84e4e3c9ab52f390e103fb4a1216e7952a5";

/** A list shaped like the community's aaguid.json. */
const LIST = {
  [GOOGLE]: { name: "Google Password Manager", icon_dark: ICON, icon_light: ICON },
  "BADA5566-A7AA-401F-BD96-45619A55120D": { name: " 1Password ", icon_light: ICON },
  "00000000-0000-0000-0000-000000000000": { name: "Everyone" },
  "not-an-aaguid": { name: "Nobody" },
  "11111111-2222-3333-4444-555555555555": { icon_dark: ICON },
  "66666666-7777-8888-9999-000000000000": { name: "Evil\u202egnp.exe" },
  "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee": { name: "Line\nbreak" },
};

describe("the refresh script", () => {
  // Each case starts node processes: generous on a loaded machine.
  jest.setTimeout(90_000);
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "plk-aaguids-"));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** Runs the compiled script on `list`, writing to `out` (which holds "previous" before). */
  function refresh(list: unknown, ...args: string[]) {
    const input = path.join(dir, "aaguid.json");
    const out = path.join(dir, "authenticator-names.json");
    fs.writeFileSync(input, typeof list === "string" ? list : JSON.stringify(list));
    fs.writeFileSync(out, "previous");
    const result = spawnSync(process.execPath, [SCRIPT, input, "--out", out, ...args], {
      encoding: "utf8",
      timeout: 60_000,
    });
    return { ...result, written: fs.readFileSync(out, "utf8") };
  }

  it("keeps only the AAGUID -> name pairs: no icons, lowercase keys, sorted, bad entries skipped", () => {
    const { names, skipped } = extractNames(LIST);
    expect(names).toEqual({
      "bada5566-a7aa-401f-bd96-45619a55120d": "1Password",
      [GOOGLE]: "Google Password Manager",
    });
    expect(Object.keys(names)).toEqual(["bada5566-a7aa-401f-bd96-45619a55120d", GOOGLE]);
    expect(skipped).toHaveLength(5);
    expect(skipped.join("\n")).toMatch(/all-zero AAGUID/);
    expect(skipped.join("\n")).toMatch(/control or invisible characters/);
  });

  it("writes the names with their source and commit, and nothing of the icons", () => {
    const result = refresh(LIST, "--commit", COMMIT);
    expect(result.stderr).toMatch(/skipped "not-an-aaguid": not an AAGUID/);
    expect(result.status).toBe(0);
    const written = JSON.parse(result.written);
    expect(written.source).toMatchObject({
      repository: "https://github.com/passkeydeveloper/passkey-authenticator-aaguids",
      file: "aaguid.json",
      commit: COMMIT,
    });
    expect(written.names[GOOGLE]).toBe("Google Password Manager");
    expect(result.written).not.toMatch(/icon_|data:image|PHN2Zy8/);
    expect(result.written).toBe(renderNames(written.names, COMMIT));
  });

  it("refuses an empty list (the list's retirement) with exit code 1 and keeps the old file", () => {
    const result = refresh({});
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/refused: the AAGUID list is empty.*retired/);
    expect(result.written).toBe("previous");
  });

  it("refuses what is not a list, or has no usable entry, and a made-up commit", () => {
    for (const list of [[], "null", "not json", { "00000000-0000-0000-0000-000000000000": {} }]) {
      const result = refresh(list);
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/^refresh-aaguids: refused: /);
      expect(result.written).toBe("previous");
    }
    const wrongCommit = refresh(LIST, "--commit", "main; rm -rf /");
    expect(wrongCommit.status).toBe(1);
    expect(wrongCommit.written).toBe("previous");
  });
});

describe("the committed names", () => {
  it("name their source and commit and hold names only", () => {
    expect(committed.source.repository).toBe(
      "https://github.com/passkeydeveloper/passkey-authenticator-aaguids",
    );
    expect(committed.source.commit).toMatch(/^[0-9a-f]{40}$/);
    const names: Record<string, unknown> = committed.names;
    expect(Object.keys(names).length).toBeGreaterThan(10);
    for (const value of Object.values(names)) expect(typeof value).toBe("string");
    // As the script writes them: re-extracting changes nothing.
    expect(
      extractNames(Object.fromEntries(Object.entries(names).map(([k, name]) => [k, { name }]))),
    ).toEqual({
      names,
      skipped: [],
    });
  });
});

describe("provider on a stored passkey", () => {
  let t: TestApp;
  let org: string;
  beforeAll(async () => {
    t = await startTestApp({ NODE_ENV: "production" });
    org = await addOrg(t);
  });
  afterAll(() => t.close());

  const aaguid = (text: string) => Buffer.from(text.replace(/-/g, ""), "hex");

  it("names a known AAGUID's provider; an unknown or all-zero AAGUID has none", async () => {
    const userId = await addHuman(t, org);
    const register = async (name: string, id?: Buffer) =>
      registerWithCode(t, userId, await returnedCode(t, userId), name, id ? { aaguid: id } : {});
    const google = await register("phone", aaguid(GOOGLE));
    const unknown = await register("key", aaguid("0123abcd-0000-4000-8000-0123456789ab"));
    const zero = await register("none");
    const { passkeys } = await t.ok(
      `query($userId: ID!) { passkeys(userId: $userId) { id provider { name } } }`,
      { userId },
    );
    expect(passkeys).toEqual([
      { id: google, provider: { name: "Google Password Manager" } },
      { id: unknown, provider: null },
      { id: zero, provider: null },
    ]);
    // The older query shape still works unchanged.
    expect((await t.ok(LIST_PASSKEYS, { userId })).passkeys).toHaveLength(3);
  });
});
