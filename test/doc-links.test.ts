// Every relative link in the project's Markdown (README, ARCHITECTURE, docs/, bench/REPORT)
// points at a file that exists: a reader who follows one lands on the page it names.
import fs from "node:fs";
import path from "node:path";

const ROOT = path.resolve(__dirname, "..");

function markdownFiles(): string[] {
  const top = ["README.md", "ARCHITECTURE.md", "bench/REPORT.md"];
  const docs = fs
    .readdirSync(path.join(ROOT, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => `docs/${name}`);
  return [...top, ...docs].filter((file) => fs.existsSync(path.join(ROOT, file)));
}

/** Relative link targets in `markdown`, without their #fragment (code spans and blocks skipped). */
function relativeLinks(markdown: string): string[] {
  const prose = markdown.replace(/```[\s\S]*?```/g, "").replace(/`[^`\n]*`/g, "");
  const targets: string[] = [];
  for (const match of prose.matchAll(/\]\(([^)\s]+)\)/g)) {
    const target = match[1]!;
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith("#")) continue;
    targets.push(target.split("#")[0]!);
  }
  return targets;
}

describe("documentation links", () => {
  it("finds the links a reader would follow, and not those in code", () => {
    expect(
      relativeLinks(
        "See [a](docs/a.md#x), [b](https://x.test/b.md), [c](#top) and `[d](nowhere.md)`.\n" +
          "```\n[e](nor-here.md)\n```\n[f](../bench/REPORT.md)",
      ),
    ).toEqual(["docs/a.md", "../bench/REPORT.md"]);
  });

  it.each(markdownFiles())("%s links only to files that exist", (file) => {
    const text = fs.readFileSync(path.join(ROOT, file), "utf8");
    const missing = relativeLinks(text).filter(
      (target) => !fs.existsSync(path.resolve(path.dirname(path.join(ROOT, file)), target)),
    );
    expect(missing).toEqual([]);
  });
});
