/**
 * Every shell command the README shows works as typed on a fresh clone, after the README's setup.
 *
 * Which lines are commands, and how they run, is the convention written at the top of the README's
 * "Development" section; `readmeCommands` below is that convention as code. Each command runs in a
 * clone of HEAD (so commit the README before running this), with the repository's own pinned runtimes
 * taken off PATH, so only the README's own `export PATH=...` line puts them there, and in a private
 * /dev/shm (`unshare -m` and a tmpfs), so a command that leaves a segment behind is caught, and no
 * command can touch another process's segments.
 */
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import process from "node:process";
import { ROOT } from "./helpers/processes.ts";

/** One command the README shows. */
interface Command {
  /** The README line it starts on (1-based). */
  line: number;
  /** The command as typed (continuation lines joined by their `\` and newline, as bash reads them). */
  text: string;
  /** The `export` lines shown before it, in order: a reader's shell still has them. */
  exports: string[];
}

/** The languages whose fenced blocks hold commands. */
const SHELL = new Set(["sh", "bash", "console"]);

/** The line that keeps the next block from running: `<!-- readme-test: skip (why) -->`. */
const SKIP = /^<!-- readme-test: skip \(.+\) -->$/;

/** The placeholder segment name the README uses; it exists (4 KiB of zeros) when each command starts. */
const PLACEHOLDER = "psm_1a2b3c4d";

/** Each command runs for at most this long (then it and its process group are killed). */
const COMMAND_SECONDS = 30;

/** A test's own bound: its command, and for the first the clone and `npm ci` (bunfig.toml's bound misses node:test). */
const TEST_MS = (COMMAND_SECONDS + 10) * 1000 + 180_000;

/** The commands of `markdown`, by the README's convention. */
export function readmeCommands(markdown: string): Command[] {
  const lines = markdown.split("\n");
  const commands: Command[] = [];
  const exports: string[] = [];
  let previous = ""; // the last non-blank line outside a block
  for (let i = 0; i < lines.length; i++) {
    const fence = /^\s*```(\S*)\s*$/.exec(lines[i]);
    if (!fence) {
      if (lines[i].trim() !== "") previous = lines[i].trim();
      continue;
    }
    const language = fence[1];
    const skipped = SKIP.test(previous);
    let end = i + 1;
    while (end < lines.length && lines[end].trim() !== "```") end++;
    if (SHELL.has(language) && !skipped) {
      for (let j = i + 1; j < end; j++) {
        let text = lines[j].trim();
        if (language === "console") {
          if (!text.startsWith("$ ")) continue; // output
          text = text.slice(2);
        }
        if (text === "" || text.startsWith("#")) continue;
        const line = j + 1;
        while (text.endsWith("\\") && j + 1 < end) text += "\n" + lines[++j].trim();
        commands.push({ line, text, exports: [...exports] });
        if (text.startsWith("export ")) exports.push(text);
      }
    }
    previous = "";
    i = end;
  }
  return commands;
}

/** The README at HEAD: the clone below holds exactly this. */
const headReadme = spawnSync("git", ["-C", ROOT, "show", "HEAD:README.md"], { encoding: "utf8" });
if (headReadme.status !== 0) throw new Error(`git show HEAD:README.md failed: ${headReadme.stderr}`);
const COMMANDS = readmeCommands(headReadme.stdout);

/** PATH without the folders of this checkout's pinned runtimes (npm test puts them there). */
function pathWithoutPinnedRuntimes(): string {
  return (process.env.PATH ?? "").split(":").filter((dir) => !dir.endsWith("tools/runtimes/node_modules/.bin"))
    .join(":");
}

/** Runs a setup step; throws with its output if it fails. */
function setup(command: string, args: string[], cwd: string): void {
  const result = spawnSync(command, args, { cwd, encoding: "utf8", timeout: 180_000 });
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(" ")}: ${result.status ?? result.signal ?? result.error}\n${result.stderr}`,
    );
  }
}

let folder = "";
let clone = "";
let cloneFailed: unknown;

/**
 * The fresh clone of HEAD, after `npm ci`: made once, by the first test that needs it (not in a `before`
 * hook, which Bun gives 5 s whatever bunfig.toml says; npm ci takes about that long). If it fails, every
 * test fails with the same error.
 */
function freshClone(): string {
  if (clone) return clone;
  if (cloneFailed) throw cloneFailed;
  try {
    folder = mkdtempSync(`${tmpdir()}/shm_readme_`);
    const head = spawnSync("git", ["-C", ROOT, "rev-parse", "HEAD"], { encoding: "utf8" }).stdout.trim();
    setup("git", ["clone", "--quiet", "--no-checkout", ROOT, `${folder}/clone`], folder);
    setup("git", ["checkout", "--quiet", "--detach", head], `${folder}/clone`);
    setup("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"], `${folder}/clone`);
    return clone = `${folder}/clone`;
  } catch (error) {
    cloneFailed = error;
    throw error;
  }
}

after(() => {
  if (folder) rmSync(folder, { recursive: true, force: true });
});

test("the convention: sh and bash lines, console '$ ' lines, continuations, exports, skipped blocks", () => {
  const markdown = [
    "```sh",
    "export A=1",
    "# a comment",
    "echo one \\",
    "  two",
    "```",
    "```console",
    "$ echo three",
    "three",
    "```",
    "<!-- readme-test: skip (needs a second terminal) -->",
    "",
    "```bash",
    "sleep 1000",
    "```",
    "```ts",
    "console.log(4);",
    "```",
  ].join("\n");
  assert.deepEqual(readmeCommands(markdown), [
    { line: 2, text: "export A=1", exports: [] },
    { line: 4, text: "echo one \\\ntwo", exports: ["export A=1"] },
    { line: 8, text: "echo three", exports: ["export A=1"] },
  ]);
});

test("the README shows the PATH line and the demo as commands", () => {
  const texts = COMMANDS.map((command) => command.text);
  assert.ok(texts.some((text) => text.startsWith("export PATH=")), texts.join("\n"));
  assert.ok(texts.some((text) => text.includes("examples/double_in_child.ts")), texts.join("\n"));
});

for (const command of COMMANDS) {
  test(`README line ${command.line}: ${command.text.split("\n")[0]}`, { timeout: TEST_MS }, () => {
    const cwd = freshClone();
    const left = `${folder}/left_${command.line}`;
    const script = [
      "mount -t tmpfs -o size=256m,mode=1777 tmpfs /dev/shm ||",
      "  { echo 'needs unshare -m and mount (root)' >&2; exit 97; }",
      `head -c 4096 /dev/zero > /dev/shm/${PLACEHOLDER}`,
      ...command.exports,
      command.text,
      "status=$?",
      `ls -A /dev/shm | grep -vx ${PLACEHOLDER} > "$README_TEST_LEFT"`,
      "exit $status",
    ].join("\n");
    const result = spawnSync(
      "timeout",
      ["--kill-after=5", String(COMMAND_SECONDS), "unshare", "--mount", "bash", "-c", script],
      {
        cwd,
        encoding: "utf8",
        timeout: (COMMAND_SECONDS + 10) * 1000,
        env: {
          ...process.env,
          PATH: pathWithoutPinnedRuntimes(),
          NO_COLOR: "1",
          README_TEST_LEFT: left,
          // `pip install` goes to a user base inside the test's folder: later python3 commands see it, and
          // nothing outside the folder changes.
          PIP_USER: "1",
          PYTHONUSERBASE: `${folder}/python-user`,
          PIP_DISABLE_PIP_VERSION_CHECK: "1",
        },
      },
    );
    assert.equal(
      result.status,
      0,
      `exit ${result.status ?? result.signal}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`,
    );
    assert.equal(readFileSync(left, "utf8"), "", "segments left in /dev/shm");
  });
}
