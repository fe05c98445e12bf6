/**
 * A reviewer's attacks on shm_interop's asyncio waits (tests/fixtures/review_python_async.py): close()
 * under a pending wait, the interpreter ending with waits pending, eight loops on eight threads, a fork.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { PYTHON, ROOT, run } from "./helpers/processes.ts";
import { SLOW } from "./fixtures/python_interop.ts";

function runCase(name: string): { lines: string[]; ms: number } {
  const started = performance.now();
  const result = run([PYTHON, `${ROOT}tests/fixtures/review_python_async.py`, name]);
  assert.equal(result.status, 0, `${name} ended with ${result.status ?? result.signal}\n${result.stderr}`);
  return { lines: result.stdout.trim().split("\n"), ms: performance.now() - started };
}

// close() left an async wait asleep until its word changed, which on a closed object may be never.
test("python3: close() ends the object's pending async waits at once, with 'closed'", SLOW, () => {
  assert.deepEqual(runCase("closed-while-waiting").lines, [
    "event closed",
    "semaphore closed",
    "barrier closed",
    "pending 0",
  ]);
});

test("python3: the interpreter ends (does not hang) with async waits pending", SLOW, () => {
  const { lines, ms } = runCase("exits-with-pending-waits");
  assert.deepEqual(lines, ["pending 1", "exiting yes"]);
  assert.ok(ms < 30_000, `it ended (${Math.round(ms)} ms)`);
});

test("python3: eight event loops on eight threads wait on one Event; one set() wakes all", SLOW, () => {
  assert.deepEqual(runCase("many-loops").lines, ["woken 8"]);
});

test("python3: a fork with async waits pending in the parent: both sides' async waits work", SLOW, () => {
  assert.deepEqual(runCase("after-fork").lines, ["child 0", "parent True"]);
});
