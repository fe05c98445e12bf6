/**
 * The watcher learns a name before shm_open can make it: a process SIGKILLed at any point of its first
 * tracked creates (while its watcher is still starting, between shm_open and sizing, ...) leaves nothing.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { readdirSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { scriptCommand, THIS_RUNTIME } from "./helpers/processes.ts";
import { launch, TEST_TIMEOUT_MS, waitFor } from "./helpers/children.ts";
import { removeIfPresent } from "./helpers/segments.ts";

const RUNS = 50;
const AT_ONCE = 5;

/** The /dev/shm names that start with `prefix`. */
const namesWith = (prefix: string) => readdirSync("/dev/shm").filter((name) => name.startsWith(prefix));

/**
 * Starts a child that creates tracked segments from its first line on and SIGKILLs it `delayMs` later;
 * returns its prefix and how many segments it had made when it died.
 */
async function killDuringFirstCreates(run: number, delayMs: number): Promise<{ prefix: string; made: number }> {
  const prefix = `shmtest_first_${process.pid}_${run}_`;
  const child = launch(scriptCommand(THIS_RUNTIME, "tests/fixtures/cleanup_child.ts", ["first-creates", prefix]));
  try {
    await child.line(0);
    await sleep(delayMs);
  } finally {
    child.stop();
  }
  await child.exited;
  return { prefix, made: namesWith(prefix).length };
}

test(
  `SIGKILL at random points of ${RUNS} first tracked creates leaves no segment`,
  { timeout: TEST_TIMEOUT_MS },
  async () => {
    const prefixes: string[] = [];
    let runsThatMade = 0;
    try {
      for (let run = 0; run < RUNS; run += AT_ONCE) {
        // Delays from 0 to 100 ms after the child's first line: its watcher starts, then the creates begin.
        const batch = Array.from({ length: AT_ONCE }, (_, i) => killDuringFirstCreates(run + i, Math.random() * 100));
        for (const { prefix, made } of await Promise.all(batch)) {
          prefixes.push(prefix);
          if (made > 0) runsThatMade++;
        }
      }
      // The kills landed among the creates (a run killed before its first create proves nothing).
      assert.ok(runsThatMade >= 5, `only ${runsThatMade} of ${RUNS} runs had created a segment when killed`);
      const left = () => prefixes.flatMap(namesWith);
      await waitFor(() => left().length === 0, 10_000);
      assert.deepEqual(left(), [], `segments left after SIGKILL (${runsThatMade} of ${RUNS} runs had made some)`);
    } finally {
      for (const prefix of prefixes) namesWith(prefix).forEach(removeIfPresent);
    }
  },
);
