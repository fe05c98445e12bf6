/**
 * Running a child with a small, private /dev/shm: `unshare -m` gives it a mount namespace of its own, and
 * a tmpfs of the given size is mounted on /dev/shm inside it, so a "full /dev/shm" is real and nothing
 * else on the machine sees it (the real /dev/shm is never mounted over). Needs root and util-linux's
 * `unshare`: a test that needs it fails, never skips, without them.
 */
import { spawnSync } from "node:child_process";
import { type ChildResult, run } from "./processes.ts";

/** Whether `unshare -m` and `mount` work here; the reason when they do not. */
export function privateMountProblem(): string | undefined {
  const probe = spawnSync("unshare", ["-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /dev/shm"], {
    encoding: "utf8",
  });
  if (probe.error) return `cannot run unshare (util-linux): ${probe.error.message}`;
  if (probe.status !== 0) return `unshare -m with a tmpfs mount failed (root needed): ${probe.stderr.trim()}`;
  return undefined;
}

/** Runs `command` with a private tmpfs of `size` (as `mount -o size=`, such as `1m`) on /dev/shm. */
export function runWithPrivateShm(size: string, command: readonly string[]): ChildResult {
  if (!/^[0-9]+[kmg]?$/.test(size)) throw new RangeError(`size must be like 1m, got ${size}`);
  return run([
    "unshare",
    "-m",
    "sh",
    "-c",
    `mount -t tmpfs -o size=${size} tmpfs /dev/shm && exec "$@"`,
    "sh",
    ...command,
  ]);
}
