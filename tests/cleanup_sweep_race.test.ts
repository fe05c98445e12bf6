/**
 * `shm sweep` cannot remove a live segment: racing a process that keeps creating and mapping segments
 * (1,000 of them), sweeps with no minimum age remove none that is in use, and do remove the abandoned ones.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { readdirSync } from "node:fs";
import { run, scriptCommand, THIS_RUNTIME } from "./helpers/processes.ts";
import { launch, TEST_TIMEOUT_MS } from "./helpers/children.ts";
import { removeIfPresent } from "./helpers/segments.ts";

const COUNT = 1000;

test(`sweeps racing a creator of ${COUNT} segments remove no live one`, { timeout: TEST_TIMEOUT_MS }, async () => {
  const prefix = `shmtest_sweeprace_${process.pid}_`;
  const creator = launch(scriptCommand(THIS_RUNTIME, "tests/fixtures/cleanup_creator.ts", [prefix, String(COUNT)]));
  const sweep = () => run(scriptCommand(THIS_RUNTIME, "cli/main.ts", ["sweep", "--min-age=0", `--prefix=${prefix}`]));
  try {
    let finished = false;
    const result = creator.line<{ lost: number; abandoned: string[] }>(0, 60_000).finally(() => finished = true);
    let sweeps = 0;
    while (!finished) {
      // run() is synchronous: let the creator's output in between.
      const swept = sweep();
      assert.equal(swept.status, 0, swept.stderr);
      sweeps++;
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    const { lost, abandoned } = await result;
    assert.ok(sweeps >= 3, `only ${sweeps} sweeps ran during the creates`);
    assert.equal(lost, 0, `${lost} live segments were removed by ${sweeps} sweeps`);
    // What was abandoned (never unlinked, mapped by no one) is removed by the next sweep.
    assert.equal(sweep().status, 0);
    const left = readdirSync("/dev/shm").filter((name) => name.startsWith(prefix));
    assert.deepEqual(left, [], `${abandoned.length} abandoned; left after a last sweep`);
  } finally {
    creator.stop();
    readdirSync("/dev/shm").filter((name) => name.startsWith(prefix)).forEach(removeIfPresent);
  }
});
