// docs/errors.md's table of error detail ids is the one generated from src/error-ids.ts.
import fs from "node:fs";
import path from "node:path";
import { errorIdTable, withErrorTable } from "../src/error-ids";

/** Prettier pads table cells; compare the cells only. */
const cells = (markdown: string) =>
  markdown
    .split("\n")
    .filter((line) => line.startsWith("|"))
    .map((line) => line.replace(/\s*\|\s*/g, "|").replace(/-{3,}/g, "---"));

it("matches docs/errors.md (regenerate with `npm run docs`)", () => {
  const readme = fs.readFileSync(path.resolve(__dirname, "../docs/errors.md"), "utf8");
  const start = readme.indexOf("<!-- error-ids:start");
  const end = readme.indexOf("<!-- error-ids:end -->");
  expect(cells(readme.slice(start, end))).toEqual(cells(errorIdTable()));
  expect(cells(withErrorTable(readme))).toEqual(cells(readme));
});
