/**
 * One crash watcher per process, whatever its Workers do: 20 Workers that each create a tracked segment
 * leave at most one watcher, and the segments of terminated Workers are removed when the process ends
 * (no runtime runs code in a Worker at terminate(): README, Cleanup, Workers).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { scriptCommand, THIS_RUNTIME } from "./helpers/processes.ts";
import { launch, waitFor, waitUntilGone, watchersOf, within } from "./helpers/children.ts";
import { removeIfPresent, segmentExists } from "./helpers/segments.ts";

test("20 Workers creating tracked segments leave at most one watcher; a terminated Worker's go at process end", async () => {
  const child = launch(scriptCommand(THIS_RUNTIME, "tests/fixtures/cleanup_workers.ts", ["20"]));
  let names: string[] = [];
  try {
    names = (await child.line<{ names: string[] }>(0, 30_000)).names;
    assert.equal(new Set(names).size, 20);
    // A thread that lost the race to start the watcher waits for the winner's: one is ever started.
    assert.ok(await waitFor(() => watchersOf(child.pid).length > 0, 5000), "no crash watcher");
    assert.deepEqual(watchersOf(child.pid).length, 1, `watchers: ${watchersOf(child.pid)}`);
    await child.line(1);
    // Terminated Workers ran no code: their segments stay while the process lives...
    assert.deepEqual(names.filter((name) => !segmentExists(name)), []);
    child.kill("SIGTERM");
    assert.ok(await within(child.exited, 3000), "the process did not die of SIGTERM");
    // ...and the watcher removes them once it has ended.
    assert.deepEqual(await waitUntilGone(names, 1000), [], child.stderr);
  } finally {
    child.stop();
    names.forEach(removeIfPresent);
  }
});
