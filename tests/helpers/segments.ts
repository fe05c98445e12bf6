/** Names for test segments, and what /dev/shm holds, so each test can prove it cleaned up. */
import assert from "node:assert/strict";
import { readdirSync, rmSync } from "node:fs";
import process from "node:process";

let counter = 0;

/** A name no other test or run uses: `shmtest_<pid>_<n>_<random>`. */
export function uniqueName(tag = "t"): string {
  const random = Math.floor(Math.random() * 0xffffff).toString(16);
  return `shmtest_${tag}_${process.pid}_${counter++}_${random}`;
}

/** The names in /dev/shm right now. */
export function segmentNames(): Set<string> {
  return new Set(readdirSync("/dev/shm"));
}

/** Whether a segment of this name exists. */
export function segmentExists(name: string): boolean {
  return segmentNames().has(name);
}

/** Removes a segment by name if a failed test left it (never an assertion: cleanup only). */
export function removeIfPresent(name: string): void {
  rmSync(`/dev/shm/${name}`, { force: true });
}

/** The names that appeared since `before`. */
export function newSegmentsSince(before: Set<string>): string[] {
  return [...segmentNames()].filter((name) => !before.has(name));
}

/**
 * Removes the named segments that a test left and fails the test if there were any: each test proves it
 * cleaned up, and a failed one still leaves nothing behind.
 */
export function assertGone(names: readonly string[]): void {
  const left = names.filter(segmentExists);
  for (const name of names) removeIfPresent(name);
  assert.deepEqual(left, [], `segments left behind: ${left.join(", ")}`);
}

/**
 * Runs `body` with a fresh segment name (`uniqueName(tag)`), then proves the segment is gone
 * (`assertGone`); a promise `body` returns is settled first. If `body` fails, the segment is removed and
 * its error is the one reported.
 */
export function withName<T>(tag: string, body: (name: string) => T): T {
  const name = uniqueName(tag);
  const succeeded = (value: T) => {
    assertGone([name]);
    return value;
  };
  const failed = (error: unknown): never => {
    removeIfPresent(name);
    throw error;
  };
  let result: T;
  try {
    result = body(name);
  } catch (error) {
    return failed(error);
  }
  return result instanceof Promise ? result.then(succeeded, failed) as T : succeeded(result);
}
