/**
 * Every relative link in the README and docs/ names a file that exists: a newcomer who follows one to
 * the code lands on it (a link to a file that was renamed or folded away used to stay behind).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { ROOT } from "./helpers/processes.ts";

/** The Markdown files a reader follows links from. */
function documents(): string[] {
  const docs = readdirSync(join(ROOT, "docs")).filter((file) => file.endsWith(".md")).map((file) => `docs/${file}`);
  return ["README.md", "python/README.md", ...docs].filter((file) => existsSync(join(ROOT, file)));
}

/** The targets of a document's `[text](target)` links that point into the repository. */
function relativeLinks(text: string): string[] {
  const links: string[] = [];
  for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
    if (/^[a-z]+:/i.test(target) || target.startsWith("#")) continue;
    links.push(decodeURIComponent(target.split("#")[0]));
  }
  return links;
}

test("every relative link in the README and docs/ names a file that exists", () => {
  const files = documents();
  assert.ok(files.length >= 3, `found the documents: ${files.join(", ")}`);
  const broken: string[] = [];
  let checked = 0;
  for (const file of files) {
    for (const target of relativeLinks(readFileSync(join(ROOT, file), "utf8"))) {
      checked++;
      if (!existsSync(join(ROOT, dirname(file), target))) broken.push(`${file}: ${target}`);
    }
  }
  assert.ok(checked > 5, `links were found (${checked})`);
  assert.deepEqual(broken, []);
});
