/** Names for test segments, and what /dev/shm holds, so each test can prove it cleaned up. */
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
