/**
 * The seed example across languages: each of Deno, Bun, Node and python3 + numpy as the parent
 * (examples/seed/parent.*), each of them as the child (examples/seed/child.*), 4 x 4 pairs. The child
 * doubles the parent's array in place and the parent prints `[2, 4, 6, 8, 10]`. And the one-runtime demo,
 * examples/double_in_child.ts, which prints the same.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import {
  NODE_FLAGS,
  PYTHON,
  ROOT,
  run,
  type Runtime,
  runtimePath,
  RUNTIMES,
  scriptCommand,
} from "./helpers/processes.ts";
import { segmentExists } from "./helpers/segments.ts";

type Language = Runtime | "python";

/** The command that runs the seed's `role` script in `language`, with `args` after it. */
function seed(language: Language, role: "parent" | "child", args: readonly string[] = []): string[] {
  return language === "python"
    ? [PYTHON, `${ROOT}examples/seed/${role}.py`, ...args]
    : scriptCommand(language, `examples/seed/${role}.ts`, args);
}

const LANGUAGES: Language[] = [...RUNTIMES, "python"];

for (const parent of LANGUAGES) {
  for (const child of LANGUAGES) {
    test(`the seed example prints [2, 4, 6, 8, 10] with a ${parent} parent and a ${child} child, leaving no segment`, () => {
      const folder = mkdtempSync(`${tmpdir()}/shmseed`);
      const record = `${folder}/descriptor.json`;
      try {
        // the child command first saves the descriptor it is given (its last argument), so the test
        // can check afterwards that the parent's segment is gone
        const recorder = ["bash", "-c", 'printf %s "${!#}" > "$0" && exec "$@"', record];
        const result = run(seed(parent, "parent", [...recorder, ...seed(child, "child")]));
        // stderr too: no error, and no resource_tracker warning of a leaked segment from Python
        assert.deepEqual(result, { status: 0, signal: null, stdout: "[2, 4, 6, 8, 10]\n", stderr: "" });
        const descriptor = JSON.parse(readFileSync(record, "utf8"));
        // offset: 0 from parent.py's bare segment, the .npy header's length (128) from TypeScript's
        const { name, offset, ...rest } = descriptor;
        assert.deepEqual(rest, { ...(parent === "python" ? {} : { kind: "array" }), dtype: "int64", shape: [5] });
        assert.equal(offset, parent === "python" ? 0 : 128, name);
        assert.equal(segmentExists(descriptor.name), false);
      } finally {
        rmSync(folder, { recursive: true, force: true });
      }
    });
  }
}

/** The demo's commands, with exactly the permissions and flags scripts/demo.sh gives Deno and Node. */
const DEMO: Record<Runtime, string[]> = {
  deno: [
    runtimePath("deno"),
    "run",
    "--allow-ffi",
    "--allow-run",
    "--allow-read",
    "--allow-env",
    `${ROOT}examples/double_in_child.ts`,
  ],
  bun: [runtimePath("bun"), "run", `${ROOT}examples/double_in_child.ts`],
  node: [runtimePath("node"), ...NODE_FLAGS, `${ROOT}examples/double_in_child.ts`],
};

for (const runtime of RUNTIMES) {
  test(`the demo examples/double_in_child.ts prints exactly [2, 4, 6, 8, 10] under ${runtime}`, () => {
    assert.deepEqual(run(DEMO[runtime]), { status: 0, signal: null, stdout: "[2, 4, 6, 8, 10]\n", stderr: "" });
  });
}
