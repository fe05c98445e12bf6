/**
 * Odd start states never panic or leak: with its descriptors used up at the first tracked create, a
 * process says in one line that it has no watcher yet, and gets one at a later create; with stderr
 * closed, the watcher still cleans up after a crash.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { scriptCommand, THIS_RUNTIME } from "./helpers/processes.ts";
import { launch, TEST_TIMEOUT_MS, waitFor, waitUntilGone, watchersOf, within } from "./helpers/children.ts";
import { removeIfPresent } from "./helpers/segments.ts";

const FIXTURE = "tests/fixtures/cleanup_child.ts";

/** Runs the fixture under `sh -c SETUP; exec ...`. */
const underShell = (setup: string, args: string[]) => [
  "sh",
  "-c",
  `${setup}; exec "$@"`,
  "sh",
  ...scriptCommand(THIS_RUNTIME, FIXTURE, args),
];

test("ulimit -n 64 and no descriptor left at the first create: no panic, one line, a watcher at the next create", {
  timeout: TEST_TIMEOUT_MS,
}, async () => {
  const child = launch(underShell("ulimit -n 64", ["exhaust"]));
  let names: string[] = [];
  try {
    names = (await child.line<{ names: string[] }>(0)).names;
    assert.ok(
      await waitFor(() => watchersOf(child.pid).length === 1, 5000),
      `no watcher was retried:\n${child.stderr}`,
    );
    child.kill("SIGKILL");
    await within(child.exited, 3000);
    // The second create's watcher also heard of the first segment, made while there was none.
    assert.deepEqual(await waitUntilGone(names, 5000), [], child.stderr);
    assert.doesNotMatch(child.stderr, /panic/i);
    const lines = child.stderr.split("\n").filter((line) => line.startsWith("shared-memory: no crash watcher"));
    assert.equal(lines.length, 1, child.stderr);
    assert.match(lines[0], /EMFILE.*tried again/);
  } finally {
    child.stop();
    names.forEach(removeIfPresent);
  }
});

test(
  "with stderr closed, a tracked process killed by SIGKILL leaves nothing",
  { timeout: TEST_TIMEOUT_MS },
  async () => {
    const child = launch(underShell("exec 2>&-", ["wait"]));
    let name: string | undefined;
    try {
      name = (await child.line<{ name: string }>(0)).name;
      assert.ok(await waitFor(() => watchersOf(child.pid).length === 1, 5000), "no crash watcher");
      child.kill("SIGKILL");
      await within(child.exited, 3000);
      assert.deepEqual(await waitUntilGone([name], 5000), []);
    } finally {
      child.stop();
      if (name) removeIfPresent(name);
    }
  },
);
