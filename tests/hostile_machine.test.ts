/**
 * A full machine: a full /dev/shm and a file size limit are clear errors at create, with nothing left
 * behind and no process killed. The full /dev/shm is a private 1 MiB tmpfs in a mount namespace of the
 * child's own (tests/helpers/namespaces.ts); the real /dev/shm is never touched.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { privateMountProblem, runWithPrivateShm } from "./helpers/namespaces.ts";
import { run, scriptCommand, THIS_RUNTIME } from "./helpers/processes.ts";
import { segmentExists, uniqueName } from "./helpers/segments.ts";

const ENOSPC = "SharedMemoryError ENOSPC posix_fallocate";

test("a private mount namespace with its own tmpfs on /dev/shm can be made here (root, util-linux)", () => {
  assert.equal(privateMountProblem(), undefined);
});

test("in a full /dev/shm, SharedMemory, SharedArray and ShareableList fail with ENOSPC at create and leave nothing", {
  timeout: 60_000,
}, () => {
  const result = runWithPrivateShm("1m", scriptCommand(THIS_RUNTIME, "tests/fixtures/hostile_full_shm.ts"));
  assert.equal(result.signal, null, `the child was killed: ${result.stderr}`);
  assert.equal(result.status, 0, result.stderr);
  assert.deepEqual(JSON.parse(result.stdout), {
    sharedMemory: ENOSPC,
    named: ENOSPC,
    zeros: ENOSPC,
    from: ENOSPC,
    list: ENOSPC,
    leftAfterFailures: [],
    small: "made",
    leftAtEnd: [],
  });
});

test("reserve: false makes a sparse segment, which a full /dev/shm turns into SIGBUS at the first write past it", {
  timeout: 60_000,
}, () => {
  const result = runWithPrivateShm("1m", scriptCommand(THIS_RUNTIME, "tests/fixtures/hostile_sparse_touch.ts"));
  assert.equal(result.stdout.trim(), "made", result.stderr);
  assert.equal(result.signal, "SIGBUS", `status ${result.status}, stderr ${result.stderr}`);
});

test("beyond ulimit -f a create is SharedMemoryError EFBIG, never SIGXFSZ, reserved or sparse, and leaves nothing", {
  timeout: 60_000,
}, () => {
  const names = [uniqueName("fsize"), uniqueName("fsize")];
  // 131072 blocks: 64 MiB in dash's 512-byte blocks (128 MiB where a shell counts KiB), below the 256 MiB
  // segment, and above what Deno's own caches write at startup (they would die of a smaller limit first)
  const command = scriptCommand(THIS_RUNTIME, "tests/fixtures/hostile_file_limit.ts", names);
  const result = run(["sh", "-c", 'ulimit -f 131072 && exec "$@"', "sh", ...command], {
    env: { DENO_NO_UPDATE_CHECK: "1" },
  });
  assert.equal(result.signal, null, `the child was killed: ${result.stderr}`);
  assert.equal(result.status, 0, result.stderr);
  const { reserved, sparse, ignoredBefore, ignoredAfter } = JSON.parse(result.stdout);
  assert.equal(reserved, "SharedMemoryError EFBIG posix_fallocate");
  assert.equal(sparse, "SharedMemoryError EFBIG ftruncate");
  assert.equal(ignoredAfter, ignoredBefore, "the program's own SIGXFSZ disposition is what it was");
  for (const name of names) assert.equal(segmentExists(name), false, `${name} was left behind`);
});
