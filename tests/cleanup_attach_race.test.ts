/**
 * Attaching to a segment that its creator has made but not sized yet (between shm_open and ftruncate)
 * waits a little for the size, and otherwise says that the segment is still being created.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { TEST_TIMEOUT_MS } from "./helpers/children.ts";
import { closeSync, openSync } from "node:fs";
import { SharedMemory, SharedMemoryError } from "../mod.ts";
import { PYTHON, start } from "./helpers/processes.ts";
import { removeIfPresent, uniqueName } from "./helpers/segments.ts";

// Creates the segment as shm_open does, says so, sizes it 40 ms later, then waits to be killed.
const SLOW_CREATOR = `
import os, sys, time
fd = os.open("/dev/shm/" + sys.argv[1], os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
print("opened", flush=True)
time.sleep(0.04)
os.ftruncate(fd, 4096)
time.sleep(30)
`;

test("an attach racing a create waits for the creator to size the segment", { timeout: TEST_TIMEOUT_MS }, async () => {
  const name = uniqueName("attach_race");
  const creator = start([PYTHON, "-c", SLOW_CREATOR, name]);
  try {
    await new Promise<void>((resolve, reject) => {
      creator.stdout.on("data", () => resolve());
      creator.on("exit", () => reject(new Error("the creator ended")));
    });
    using shm = new SharedMemory(name);
    assert.equal(shm.size, 4096);
  } finally {
    creator.kill("SIGKILL");
    removeIfPresent(name);
  }
});

test("an attach to a segment that is never sized fails after 100 ms, saying it may still be being created", () => {
  const name = uniqueName("attach_unsized");
  closeSync(openSync(`/dev/shm/${name}`, "wx", 0o600));
  try {
    assert.throws(() => new SharedMemory(name), (error) => {
      assert.ok(error instanceof SharedMemoryError);
      assert.equal(error.code, "EINVAL");
      assert.match(error.message, /is empty \(size 0\) \d+ ms after it was made: it is still being created/);
      return true;
    });
  } finally {
    removeIfPresent(name);
  }
});
