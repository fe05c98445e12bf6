/**
 * One crash watcher per process, whatever its Workers do: 20 Workers that each create a tracked segment
 * leave at most one watcher, and the segments of terminated Workers are removed when the process ends
 * (no runtime runs code in a Worker at terminate(): README, Cleanup, Workers).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { readdirSync } from "node:fs";
import { scriptCommand, THIS_RUNTIME } from "./helpers/processes.ts";
import { launch, TEST_TIMEOUT_MS, waitFor, waitUntilGone, watchersOf, within } from "./helpers/children.ts";
import { removeIfPresent, segmentExists } from "./helpers/segments.ts";

test("20 Workers creating tracked segments leave at most one watcher; a terminated Worker's go at process end", {
  timeout: TEST_TIMEOUT_MS,
}, async () => {
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

test(
  "SIGTERM while 4 Workers make their first tracked segments leaves nothing (7 runs)",
  { timeout: TEST_TIMEOUT_MS },
  async () => {
    const prefixes: string[] = [];
    const namesWith = (prefix: string) => readdirSync("/dev/shm").filter((name) => name.startsWith(prefix));
    try {
      let killedAmidCreates = 0;
      for (let run = 0; run < 7; run++) {
        const prefix = `shmtest_wburst_${process.pid}_${run}_`;
        prefixes.push(prefix);
        const child = launch(scriptCommand(THIS_RUNTIME, "tests/fixtures/cleanup_workers.ts", ["burst", prefix]));
        try {
          await child.line(0);
          // Workers start in 50-300 ms (Deno, Bun) or seconds (Node strips every file's types): kill once the
          // first segment exists, at a random point of the burst.
          await waitFor(() => namesWith(prefix).length > 0, 10_000);
          await new Promise((resolve) => setTimeout(resolve, Math.random() * 30));
          if (namesWith(prefix).length > 0) killedAmidCreates++;
          child.kill("SIGTERM");
          assert.ok(await within(child.exited, 3000), "the process did not die of SIGTERM");
        } finally {
          child.stop();
        }
      }
      assert.ok(killedAmidCreates > 0, "no run was killed once its Workers had created a segment");
      await waitFor(() => prefixes.flatMap(namesWith).length === 0, 10_000);
      assert.deepEqual(prefixes.flatMap(namesWith), []);
    } finally {
      prefixes.flatMap(namesWith).forEach(removeIfPresent);
    }
  },
);
