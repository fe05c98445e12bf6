/**
 * A signal kills a tracked process exactly as it kills an untracked one: at once, by that signal; and
 * the crash watcher removes its segments after it, as after any crash. A program's own listeners and
 * ignored signals are left as they are.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { scriptCommand, THIS_RUNTIME } from "./helpers/processes.ts";
import { launch, TEST_TIMEOUT_MS, waitFor, waitUntilGone, watchersOf, within } from "./helpers/children.ts";
import { removeIfPresent, segmentExists } from "./helpers/segments.ts";

const FIXTURE = "tests/fixtures/cleanup_child.ts";

interface Made {
  name: string;
  pid: number;
}

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  test(`${signal} kills a busy tracked process within 0.5 s, by ${signal}, and its segment is gone within 1 s`, {
    timeout: TEST_TIMEOUT_MS,
  }, async () => {
    const child = launch(scriptCommand(THIS_RUNTIME, FIXTURE, ["busy"]));
    let made: Made | undefined;
    try {
      made = await child.line<Made>(0);
      // The watcher is running (it read the create) before the signal: give it a moment to start.
      assert.ok(await waitFor(() => watchersOf(child.pid).length === 1, 5000), "no crash watcher");
      await new Promise((resolve) => setTimeout(resolve, 500));
      const sentAt = performance.now();
      // SIGINT goes to the group, as a terminal's Ctrl-C does.
      child.kill(signal, signal === "SIGINT");
      const exit = await within(child.exited, 3000);
      assert.ok(exit, `the process was still running 3 s after ${signal}`);
      assert.equal(exit.signal, signal, `ended with status ${exit.status}, signal ${exit.signal}`);
      assert.ok(exit.at - sentAt < 500, `died ${Math.round(exit.at - sentAt)} ms after ${signal}`);
      assert.deepEqual(await waitUntilGone([made.name], 1000), [], `segment left 1 s after death:\n${child.stderr}`);
    } finally {
      child.stop();
      if (made) removeIfPresent(made.name);
    }
  });
}

test("a program's own listener for a signal ignored at start (nohup) runs, and keeps its segments", {
  timeout: TEST_TIMEOUT_MS,
}, async () => {
  // `trap "" HUP` then exec: the child starts with SIGHUP ignored, as under nohup.
  const command = [
    "sh",
    "-c",
    'trap "" HUP; exec "$@"',
    "sh",
    ...scriptCommand(THIS_RUNTIME, FIXTURE, ["hup-listener"]),
  ];
  const child = launch(command);
  let made: Made | undefined;
  try {
    made = await child.line<Made>(0);
    child.kill("SIGHUP");
    assert.deepEqual(await child.line(1, 3000), { handled: "SIGHUP", name: made.name });
    assert.ok(segmentExists(made.name));
  } finally {
    child.stop();
    await child.exited;
    if (made) await waitUntilGone([made.name], 5000);
    if (made) removeIfPresent(made.name);
  }
});
