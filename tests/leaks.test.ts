/** Nothing leaks: no descriptor, no mapping, no segment, on success and on every failure path. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { SharedMemory } from "../mod.ts";
import { NODE_FLAGS, ROOT, runOk, type Runtime, runtimePath, THIS_RUNTIME } from "./helpers/processes.ts";
import { removeIfPresent, segmentExists, uniqueName } from "./helpers/segments.ts";

// The first tracked segment of a process starts the crash watcher and opens its pipe, once: do that before
// any test counts descriptors, so the count sees only what each test's own segments do.
new SharedMemory({ create: true, size: 1 })[Symbol.dispose]();

/** Each runtime's flags for a child that can force a GC (tests/helpers/gc.ts). */
const GC_FLAGS: Record<Runtime, readonly string[]> = {
  deno: ["run", "--allow-all", "--v8-flags=--expose-gc"],
  bun: ["run"],
  node: [...NODE_FLAGS, "--expose-gc"],
};

/** Runs a fixture in this runtime with a GC it can force; returns its stdout. */
function runWithGc(fixture: string, ...args: string[]): string {
  return runOk([runtimePath(THIS_RUNTIME), ...GC_FLAGS[THIS_RUNTIME], `${ROOT}${fixture}`, ...args]);
}

/**
 * This process's descriptors of segments (links into /dev/shm): only those, since other descriptors come
 * and go with the runner's own work (Bun runs every test file in one process, and earlier tests'
 * children close their pipes late).
 */
const openDescriptors = () =>
  readdirSync("/proc/self/fd").filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith("/dev/shm/");
    } catch {
      return false; // closed since the listing (the listing's own descriptor among them)
    }
  }).length;
const shmMappings = () =>
  readFileSync("/proc/self/maps", "utf8").split("\n").filter((line) => line.includes("/dev/shm/")).length;

test("1000 create/close/unlink cycles leave no descriptor and no mapping behind", () => {
  const fds = openDescriptors();
  const maps = shmMappings();
  for (let i = 0; i < 1000; i++) {
    const shm = new SharedMemory({ create: true, size: 4096 });
    shm.buf[i % 4096] = 1;
    shm.close();
    shm.unlink();
  }
  assert.equal(openDescriptors(), fds);
  assert.equal(shmMappings(), maps);
});

test("a handle keeps no descriptor open while it is mapped", () => {
  const fds = openDescriptors();
  using shm = new SharedMemory({ create: true, size: 4096 });
  using attached = new SharedMemory(shm.name);
  assert.equal(openDescriptors(), fds);
  assert.equal(attached.size, 4096);
});

test("failed attaches and creates leave no descriptor and no mapping behind", () => {
  const name = uniqueName("fail");
  const empty = uniqueName("empty");
  writeFileSync(`/dev/shm/${empty}`, new Uint8Array(0), { mode: 0o600 });
  using existing = new SharedMemory({ name, create: true, size: 8 });
  const fds = openDescriptors();
  const maps = shmMappings();
  try {
    for (let i = 0; i < 200; i++) {
      assert.throws(() => new SharedMemory(uniqueName("missing")), { code: "ENOENT" });
      assert.throws(() => new SharedMemory({ name, create: true, size: 8 }), { code: "EEXIST" });
      assert.throws(() => new SharedMemory(empty), { code: "EINVAL" });
    }
  } finally {
    removeIfPresent(empty);
  }
  assert.equal(openDescriptors(), fds);
  assert.equal(shmMappings(), maps);
  assert.equal(existing.size, 8);
});

test("a create that fails after shm_open removes the half-made segment", () => {
  // sizing beyond what tmpfs may hold fails (EFBIG/ENOSPC/EINVAL on this kernel) after shm_open succeeded.
  const name = uniqueName("toolarge");
  const fds = openDescriptors();
  assert.throws(() => new SharedMemory({ name, create: true, size: 2 ** 53 - 1 }), (error: unknown) => {
    assert.equal((error as { name: string }).name, "SharedMemoryError");
    assert.match((error as { syscall: string }).syscall, /^(posix_fallocate|ftruncate|mmap)$/);
    return true;
  });
  assert.equal(segmentExists(name), false);
  assert.equal(openDescriptors(), fds);
});

test("a handle dropped without close() releases its segment's memory when it is garbage-collected", () => {
  const out = runWithGc("tests/fixtures/forgotten_handles.ts");
  assert.equal(out, "50 0");
});

test("a handle dropped without close() in a Worker releases its segment's memory when it is garbage-collected", () => {
  const out = runWithGc("tests/fixtures/forgotten_handles.ts", "worker");
  assert.equal(out, "50 0");
});

test("a dropped handle whose memory a native operation still reads does not crash when it is collected", () => {
  const out = runWithGc("tests/fixtures/forgotten_handle_native_use.ts");
  assert.equal(out, "ok");
});
