/**
 * A reviewer's attacks on the Mutex's hold tracking (`heldHere`, closing a segment under a held mutex)
 * and on `lockAsync`'s wake-ups: each test is one attack, kept as a regression test.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Condition, Mutex, SharedMemory } from "../mod.ts";
import { PYTHON_BLOCKED_LOCKER, startPeer, untilInFutex } from "./helpers/sync.ts";
import { run, RUNTIMES, scriptCommand } from "./helpers/processes.ts";
import { removeIfPresent, uniqueName } from "./helpers/segments.ts";
import { startWorker } from "./helpers/worker.ts";

/** Bun's test runner stops a node:test test after 5 s whatever bunfig.toml says: these start processes. */
const LONG = { timeout: 120_000 };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// The wait thread of this process sleeps on the lock word beside a glibc sleeper in another process. An
// unlock wakes ONE of them (the wait thread: it queued first); if the async locker is aborted before it
// hears of that wake, the wake must go on, though glibc's unlock has left the word 0 (no FUTEX_WAITERS):
// otherwise the other process sleeps on while the mutex is free.
test("a lockAsync aborted right after an unlock woke it passes the wake on to a blocked locker", LONG, async () => {
  using mutex = Mutex.create();
  using other = Mutex.attach(mutex.descriptor);
  const sleeper = startPeer("python3", ["-c", PYTHON_BLOCKED_LOCKER, JSON.stringify(mutex.descriptor), "8"]);
  try {
    await sleeper.line("ready");
    mutex.lock();
    const controller = new AbortController();
    const pending = other.lockAsync({ signal: controller.signal });
    pending.catch(() => {});
    await sleep(30); // the wait thread is in futex_waitv on the word
    sleeper.child.stdin!.write("go\n");
    await untilInFutex(sleeper.child.pid!, 500);
    await sleep(20);
    mutex.unlock(); // wakes one sleeper: the wait thread, queued first
    controller.abort(new Error("aborted")); // before this thread hears of that wake
    await assert.rejects(pending, { message: "aborted" });
    const started = performance.now();
    assert.equal(await sleeper.done, "ready\ntrue", "the blocked locker got the free mutex");
    assert.ok(performance.now() - started < 6000, "and well before its 8 s timeout");
  } finally {
    sleeper.child.kill("SIGKILL");
    await sleeper.done.catch(() => {});
  }
});

// heldByThisThread (and so Mutex.close(), Condition.wait and notify) asked by trylock: on a mutex whose
// holder died, trylock takes it (EOWNERDEAD) and it was made consistent and released again, so the next
// real locker was never told that the state it guards may be half-updated.
test(
  "closing a handle that does not hold a mutex whose holder died leaves ownerDied for the next locker",
  LONG,
  async () => {
    using mutex = Mutex.create();
    const descriptor = JSON.stringify(mutex.descriptor);
    const holder = startPeer("python3", ["mutex-hold", descriptor]);
    await holder.line("locked false");
    holder.child.kill("SIGKILL");
    await holder.done.catch(() => {});
    const bystander = Mutex.attach(mutex.descriptor);
    assert.equal(bystander.heldByThisThread(), false);
    bystander.close();
    using condition = Condition.create({ mutex });
    assert.throws(() => condition.notify(), { name: "LockStateError" });
    assert.equal(mutex.lock({ timeout: 5000 }), true);
    assert.equal(mutex.ownerDied, true, "the first locker after the death is told");
    mutex.unlock();
  },
);

test(
  "a mutex locked through one handle and unlocked through another is not closed with the first's segment",
  LONG,
  () => {
    const shm = new SharedMemory({ name: uniqueName("rv_two"), create: true, size: 4096 });
    try {
      const first = Mutex.create({ shm, offset: 0 });
      using second = Mutex.attach(first.descriptor); // a mapping of its own
      first.lock();
      second.unlock(); // pthread lets the holding thread unlock through any mapping
      shm.close();
      assert.equal(first.closed, false, "first holds nothing: its segment's close left it alone");
      assert.equal(second.tryLock(), true);
      shm.unlink();
      second.close(); // closing held: released first
    } finally {
      if (!shm.closed) shm.close();
      try {
        shm.unlink();
      } catch { /* unlinked above */ }
    }
  },
);

test("closing another handle of the same segment (another mapping) leaves a held mutex held", LONG, () => {
  using shm = new SharedMemory({ name: uniqueName("rv_other"), create: true, size: 4096 });
  using mutex = Mutex.create({ shm, offset: 64 });
  mutex.lock();
  const again = new SharedMemory({ name: shm.name });
  again.close();
  assert.equal(mutex.closed, false);
  assert.equal(mutex.heldByThisThread(), true);
  mutex.unlock();
});

test("a Condition's waits (which unlock and relock) keep the hold bookkeeping right", LONG, async () => {
  using shm = new SharedMemory({ name: uniqueName("rv_cond"), create: true, size: 4096 });
  const condition = Condition.create({ shm, offset: 0 });
  const mutex = condition.mutex;
  const other = Mutex.attach(mutex.descriptor, { shm }); // the same mapping, another handle
  other.lock(); // held through another handle: waits unlock and relock through condition.mutex
  assert.equal(condition.wait({ timeout: 1 }), false);
  assert.equal(await condition.waitAsync({ timeout: 1 }), false);
  other.unlock();
  const closing = new SharedMemory({ name: shm.name });
  closing.close();
  // nothing is held now: closing the segment closes neither handle
  for (let i = 0; i < 200_000; i++) {
    mutex.lock();
    mutex.unlock();
  }
  mutex.lock();
  assert.equal(await condition.waitAsync({ timeout: 1 }), false);
  shm.close(); // held in it: released and closed
  assert.equal(mutex.closed, true);
  assert.equal(other.closed, false, "a handle that holds nothing is left open");
  using fresh = Mutex.attach(mutex.descriptor);
  assert.equal(fresh.tryLock(), true);
  fresh.unlock();
  other.close();
  condition.close();
});

// Bun tears a terminated Worker's heap down running its buffers' native deallocators before the thread
// exits: with the self-unmapping buffers of ffi/bun.ts that unmapped the segment (its mappings went from
// 3 to 1 here), the kernel's robust-list walk read unmapped memory and marked nothing, and the next
// locker waited forever. So Bun makes no self-unmapping buffers in a Worker.
test("a Worker terminated holding a mutex hands it on with ownerDied", {
  ...LONG,
}, async () => {
  using mutex = Mutex.create();
  const worker = startWorker(new URL("./fixtures/review_hold_worker.ts", import.meta.url));
  const locked = worker.next<string>();
  worker.postMessage(mutex.descriptor);
  assert.equal(await locked, "locked");
  assert.equal(mutex.tryLock(), false);
  worker.terminate();
  assert.equal(await mutex.lockAsync({ timeout: 10_000 }), true, "the terminated Worker's lock was handed on");
  assert.equal(mutex.ownerDied, true);
  mutex.unlock();
});

// A Mutex's calls hand its address to pthread: after its (borrowed) segment was closed that address was a
// detached buffer's, which Deno and Bun pass as NULL: pthread_mutex_trylock(NULL) was a segfault, in
// close() too. Each runtime in a child, since the bug kills the process.
for (const runtime of RUNTIMES) {
  test(`${runtime}: a Mutex whose segment was closed refuses every call with a TypeError and closes`, LONG, () => {
    const name = uniqueName("rv_closed");
    const result = run(scriptCommand(runtime, "tests/fixtures/review_closed_segment.ts", [name]));
    try {
      assert.equal(result.signal, null, `${runtime} died of ${result.signal}\n${result.stderr}`);
      assert.equal(result.status, 0, result.stderr);
      assert.deepEqual(result.stdout.trim().split("\n"), [
        "tryLock: TypeError",
        "lock: TypeError",
        "unlock: TypeError",
        "heldByThisThread: TypeError",
        "lockAsync: TypeError",
        "close: true",
      ]);
    } finally {
      removeIfPresent(name);
    }
  });
}
