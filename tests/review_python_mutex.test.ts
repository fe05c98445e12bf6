/**
 * A reviewer's attacks on shm_interop's Mutex (python3): a wake-up its asyncio locker took and did not
 * use, and held_by_this_thread on a mutex whose holder died. Real python3 processes, bounded waits.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { futex, Mutex, SharedMemory } from "../mod.ts";
import { PYTHON_BLOCKED_LOCKER, startPeer, untilInFutex } from "./helpers/sync.ts";

/** Bun's test runner stops a node:test test after 5 s whatever bunfig.toml says: these start processes. */
const LONG = { timeout: 120_000 };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const PRELUDE = `
import asyncio, os, sys
sys.path.insert(0, os.path.join(os.getcwd(), "python"))
from shm_interop import sync
`;

/**
 * Holds the mutex on its loop's thread while a task of that loop waits in acquire_async; at a line on
 * stdin releases it (the unlock wakes one sleeper: this process's wait thread) and cancels that task at once.
 */
const CANCELLED_LOCKER = PRELUDE + `
async def main():
    mutex = sync.Mutex(sys.argv[1])
    mutex.acquire()
    task = asyncio.ensure_future(mutex.acquire_async())
    await asyncio.sleep(0.05)
    print("waiting", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    mutex.release()
    task.cancel()
    try:
        await task
        print("not cancelled", flush=True)
    except asyncio.CancelledError:
        print("cancelled", flush=True)
    mutex.close()
asyncio.run(main())
`;

test("python3: an acquire_async cancelled right after an unlock woke it passes the wake on", LONG, async () => {
  using mutex = Mutex.create();
  const descriptor = JSON.stringify(mutex.descriptor);
  const blocked = startPeer("python3", ["-c", PYTHON_BLOCKED_LOCKER, descriptor, "8"]);
  const cancelled = startPeer("python3", ["-c", CANCELLED_LOCKER, descriptor]);
  try {
    await blocked.line("ready");
    await cancelled.line("waiting");
    blocked.child.stdin!.write("go\n");
    await untilInFutex(blocked.child.pid!, 500);
    await sleep(20);
    cancelled.child.stdin!.write("go\n");
    assert.equal(await cancelled.done, "waiting\ncancelled");
    const started = performance.now();
    assert.equal(await blocked.done, "ready\ntrue", "the blocked locker got the free mutex");
    assert.ok(performance.now() - started < 6000, "and well before its 8 s timeout");
  } finally {
    for (const peer of [blocked, cancelled]) {
      peer.child.kill("SIGKILL");
      await peer.done.catch(() => {});
    }
  }
});

test("python3: held_by_this_thread and close() leave a dead holder's ownerDied for the next locker", LONG, async () => {
  using mutex = Mutex.create();
  const descriptor = JSON.stringify(mutex.descriptor);
  const holder = startPeer("python3", ["mutex-hold", descriptor]);
  await holder.line("locked false");
  holder.child.kill("SIGKILL");
  await holder.done.catch(() => {});
  const bystander = startPeer("python3", [
    "-c",
    PRELUDE + `
mutex = sync.Mutex(sys.argv[1])
print(mutex.held_by_this_thread())
mutex.close()
`,
    descriptor,
  ]);
  assert.equal(await bystander.done, "False");
  assert.equal(mutex.lock({ timeout: 5000 }), true);
  assert.equal(mutex.ownerDied, true, "the first locker after the death is told");
  mutex.unlock();
});

/** Waits asynchronously on word 0 of the segment; at a line on stdin blocks its loop 0.5 s (the test
 * notifies meanwhile) and cancels that wait before the loop hears of the wake-up. */
const CANCELLED_FUTEX_WAITER = PRELUDE + `
from shm_interop import SharedMemory
async def main():
    shm = SharedMemory(sys.argv[1])
    task = asyncio.ensure_future(sync.futex_wait_async(shm.buf, 0, 0))
    await asyncio.sleep(0.05)
    print("waiting", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    import time
    time.sleep(0.5)
    task.cancel()
    results = await asyncio.gather(task, return_exceptions=True)
    print(type(results[0]).__name__, flush=True)
    shm.close()
asyncio.run(main())
`;

/** Blocks in futex_wait on word 0 of the segment for argv[2] s, at a line on stdin. */
const BLOCKED_FUTEX_WAITER = PRELUDE + `
from shm_interop import SharedMemory
shm = SharedMemory(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
print(sync.futex_wait(shm.buf, 0, 0, float(sys.argv[2])), flush=True)
shm.close()
`;

// A notify of ONE wakes this process's wait thread (queued first); the wait it was for was cancelled
// before the loop heard of it: the wake must go on to the other sleeper, not be dropped with the future.
test("python3: a futex_wait_async cancelled before its wake-up arrived passes that wake-up on", LONG, async () => {
  using shm = new SharedMemory({ create: true, size: 64 });
  const blocked = startPeer("python3", ["-c", BLOCKED_FUTEX_WAITER, shm.name, "8"]);
  const cancelled = startPeer("python3", ["-c", CANCELLED_FUTEX_WAITER, shm.name]);
  try {
    await blocked.line("ready");
    await cancelled.line("waiting");
    blocked.child.stdin!.write("go\n");
    await untilInFutex(blocked.child.pid!, 500);
    await sleep(20);
    cancelled.child.stdin!.write("go\n");
    await sleep(150); // its loop is blocked now
    assert.equal(futex.notify(new Int32Array(shm.buf.buffer, 0, 1), 0, 1), 1, "one sleeper woken");
    assert.equal(await cancelled.done, "waiting\nCancelledError");
    const started = performance.now();
    assert.equal(await blocked.done, "ready\nok", "the other sleeper got the wake-up");
    assert.ok(performance.now() - started < 6000, "well before its 8 s timeout");
  } finally {
    for (const peer of [blocked, cancelled]) {
      peer.child.kill("SIGKILL");
      await peer.done.catch(() => {});
    }
  }
});
