/**
 * What waits for `futex.waitAsync` off the event loop: in Bun and Node the kernel itself through io_uring
 * (`ffi/uring.ts`) where it offers FUTEX_WAITV, else a thread that blocks (`workerOffLoop` of `ffi/wait.ts`);
 * in Deno its pool. The waits' behaviour through each is in sync_futex, sync_wakeups and sync_objects.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import process from "node:process";
import { platformFor } from "../ffi/platforms.ts";
import type { LinuxSync } from "../ffi/platforms.ts";
import { rawWaitBinding, waitCalls } from "../ffi/runtime.ts";
import { type RawUring, uringOffLoop } from "../ffi/uring.ts";
import { webWorkerThread, workerOffLoop } from "../ffi/wait.ts";
import { nodeWorkerThread } from "../ffi/node.ts";
import { futex, SharedMemory } from "../mod.ts";
import { THIS_RUNTIME } from "./helpers/processes.ts";
import { uniqueName } from "./helpers/segments.ts";

const LONG = { timeout: 60_000 };
const sync = platformFor(
  process.platform === "linux" ? "linux" : "darwin",
  process.arch === "arm64" ? "aarch64" : "x86_64",
)!
  .sync as LinuxSync;

function ioUringAllowed(): boolean {
  try {
    return readFileSync("/proc/sys/kernel/io_uring_disabled", "utf8").trim() === "0";
  } catch {
    return true; // kernels before 6.6 have no switch
  }
}

test(`futex.waitAsync in ${THIS_RUNTIME} waits ${THIS_RUNTIME === "deno" ? "on Deno's pool" : "through io_uring"}`, () => {
  const via = waitCalls().offLoop().via;
  if (THIS_RUNTIME === "deno") assert.equal(via, "pool");
  else if (ioUringAllowed()) assert.equal(via, "ring", "this kernel (6.18 here) has IORING_OP_FUTEX_WAITV");
  else assert.equal(via, "thread");
});

/** A RawUring that records what it was given back; `setup` and `enter` answer as told. */
function fakeUring(answers: { setup: number; features: number; enter: number }) {
  const freed: string[] = [];
  let next = 100;
  const raw: RawUring = {
    setup(_entries, params) {
      // 4 submission entries, 8 completions; the offsets of the heads, tails, masks, arrays as a kernel gives them
      const p = new Uint32Array(params.buffer);
      p.set([4, 8], 0);
      p[5] = answers.features;
      p.set([0, 4, 8, 12, 16, 20, 64], 10);
      p.set([24, 28, 32, 36, 40, 128], 20);
      return answers.setup;
    },
    enter: () => answers.enter,
    mmap: () => (next += 0x1000),
    munmap: (address) => (freed.push(`munmap ${address}`), 0),
    close: (fd) => (freed.push(`close ${fd}`), 0),
    pipe2(fds) {
      fds.set([7, 8]);
      return 0;
    },
    arrayBuffer: (_address, length) => new ArrayBuffer(length),
    watch: () => ({ ref() {}, unref() {} }),
  };
  return { raw, freed };
}

const noFutex = () => 0;
const address = () => 0x1000;

test("where io_uring is refused (setup fails: ENOSYS, EPERM), no ring is made: the caller keeps its thread", () => {
  const { raw, freed } = fakeUring({ setup: -1, features: 1, enter: 0 });
  assert.equal(uringOffLoop(raw, sync, noFutex, address), undefined);
  assert.equal(uringOffLoop(raw, sync, noFutex, address), undefined, "and it is not tried again");
  assert.deepEqual(freed, []);
  assert.equal(uringOffLoop(undefined, sync, noFutex, address), undefined, "no binding: no ring");
});

test("a kernel whose io_uring lacks FUTEX_WAITV (the probe fails) gets no ring, and all it took is given back", () => {
  const { raw, freed } = fakeUring({ setup: 5, features: 1, enter: -1 });
  assert.equal(uringOffLoop(raw, sync, noFutex, address), undefined);
  assert.deepEqual(freed.toSorted(), ["close 5", "close 7", "close 8", "munmap 4196", "munmap 8292"].toSorted());
});

test("an io_uring without one mapping for both rings (before Linux 5.4) is not used", () => {
  const { raw, freed } = fakeUring({ setup: 5, features: 0, enter: 0 });
  assert.equal(uringOffLoop(raw, sync, noFutex, address), undefined);
  assert.deepEqual(freed, ["close 5"]);
});

test(
  `the thread that waits where there is no ring wakes on a word and on interrupt (${THIS_RUNTIME})`,
  LONG,
  async () => {
    const raw = rawWaitBinding();
    const waiter = workerOffLoop(raw, sync, THIS_RUNTIME === "node" ? nodeWorkerThread(raw) : webWorkerThread);
    assert.equal(waiter.via, "thread");
    const word = new Int32Array(new SharedArrayBuffer(8));
    const at = raw.addressOf(word.buffer);
    const woken = waiter.wait([at, at + 4], [0, 0]);
    // Woken until it answers: the thread may not be in the kernel yet when the first wake comes
    let answer: number | undefined;
    void woken.then((index) => answer = index);
    Atomics.store(word, 1, 1);
    for (let i = 0; i < 500 && answer === undefined; i++) {
      raw.futex(at + 4, sync.FUTEX_WAKE, 1, null);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.ok(answer === 1 || answer === -1, `the second word woke it, or the thread saw it differ: ${answer}`);
    const interrupted = waiter.wait([at], [0]);
    waiter.interrupt();
    assert.equal(await interrupted, -1);
  },
);

test(
  `300 waits on 300 words (3 groups of at most 127, one ring or pool) each wake on their own notify (${THIS_RUNTIME})`,
  LONG,
  async () => {
    using shm = new SharedMemory({ name: uniqueName("ring_groups"), create: true, size: 4096 });
    const words = new Int32Array(shm.buf.buffer);
    const COUNT = 300;
    const answers: (string | undefined)[] = new Array(COUNT);
    const waits = Array.from(
      { length: COUNT },
      (_, i) => futex.waitAsync(words, i, 0, { timeout: 30_000 }).then((answer) => answers[i] = answer),
    );
    // Added while the first group's wait is pending: the set changes (an interrupt) and no wait is lost.
    await new Promise((resolve) => setTimeout(resolve, 20));
    for (let i = COUNT - 1; i >= 0; i -= 2) {
      Atomics.store(words, i, 1);
      futex.notify(words, i);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(answers.filter((answer) => answer !== undefined).length, COUNT / 2, "only the words notified woke");
    for (let i = 0; i < COUNT; i += 2) {
      Atomics.store(words, i, 1);
      futex.notify(words, i);
    }
    await Promise.all(waits);
    assert.deepEqual(answers, new Array(COUNT).fill("ok"));
  },
);
