/**
 * shm_interop.sync's asyncio waits (futex_wait_async, acquire_async, wait_async, ...) against real
 * TypeScript processes: a python3 program awaits while a Deno, Bun or Node process (or this test's own
 * process) notifies, sets, releases or unlocks, and a 5 ms asyncio timer counts how often the event loop
 * ran meanwhile (tests/fixtures/python_async_peer.py). Cancelling a task cancels its wait: the waiter
 * counts are back, no wait is left pending, nothing stays locked; timeouts answer as the blocking calls do.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Barrier, Condition, Event, futex, Mutex, Semaphore, SharedMemory } from "../mod.ts";
import { ROOT, type Runtime, RUNTIMES, THIS_RUNTIME } from "./helpers/processes.ts";
import { type Running, runPeer, startPeer, untilInFutex } from "./helpers/sync.ts";
import { segmentExists, uniqueName } from "./helpers/segments.ts";
import { SLOW } from "./fixtures/python_interop.ts";

const FIXTURE = `${ROOT}tests/fixtures/python_async_peer.py`;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** How long the TypeScript side waits, once python3 says its wait is pending, before it acts. */
const PAUSE_MS = 300;
/** 5 ms ticks python3's loop must have run in PAUSE_MS at least: a generous floor for a loaded VM. */
const MIN_TICKS = 5;

/** The async fixture as a sync peer (runpy gives it its own __file__ under `python3 -c`). */
function pythonAsync(args: readonly string[]): Running {
  return startPeer("python3", [
    "-c",
    `import runpy, sys; sys.argv[0] = ${JSON.stringify(FIXTURE)}; runpy.run_path(sys.argv[0], run_name="__main__")`,
    ...args,
  ]);
}

/** python3's last line: its words, the last one the timer's count. */
async function answer(peer: Running): Promise<{ words: string[]; ticks: number }> {
  const out = await peer.done;
  const lines = out.split("\n");
  assert.equal(lines[0], "waiting", out);
  const words = lines.at(-1)!.split(" ");
  return { words: words.slice(0, -1), ticks: Number(words.at(-1)) };
}

/** Runs `body` with a new object, disposed (and its segment gone) after. */
async function withObject<T extends Disposable & { descriptor: { name: string } }>(
  make: () => T,
  body: (object: T, json: string) => Promise<void>,
) {
  const object = make();
  const name = object.descriptor.name;
  try {
    await body(object, JSON.stringify(object));
  } finally {
    object[Symbol.dispose]();
  }
  assert.equal(segmentExists(name), false);
}

for (const runtime of RUNTIMES) {
  test(
    `futex_wait_async in python3 is woken by futex.notify from ${runtime}, its event loop's timer firing meanwhile`,
    SLOW,
    async () => {
      using shm = new SharedMemory({ create: true, size: 64, name: uniqueName(`pyaw_${runtime}`) });
      const python = pythonAsync(["futex-wait", shm.name, "0", "0", "20000"]);
      await python.line("waiting");
      await sleep(PAUSE_MS);
      // a notify with no change of the word: only a wake-up can end python3's wait
      assert.ok(Number(await runPeer(runtime, ["futex-notify", shm.name, "0"])) >= 1);
      const { words, ticks } = await answer(python);
      assert.deepEqual(words, ["ok"]);
      assert.ok(ticks >= MIN_TICKS, `the loop ran its timer ${ticks} times`);
      shm.unlink();
    },
  );
}

test(
  "1,000 pending futex_wait_async calls in python3 take one thread and all wake on one notify from TypeScript",
  SLOW,
  async () => {
    using shm = new SharedMemory({ create: true, size: 64, name: uniqueName("pyaw_many") });
    const words = new Int32Array(shm.buf.buffer);
    const python = pythonAsync(["futex-many", shm.name, "1", "1000"]);
    const waiting = await python.nextLine();
    assert.equal(waiting, "waiting 1 1", "one thread besides the main one, one entry for the 1,000 waits");
    // counted as pending is not yet asleep: its thread may still be on its way into futex_waitv
    await untilInFutex(python.child.pid!, 5_000, "futex_waitv");
    Atomics.store(words, 1, 1);
    assert.equal(futex.notify(words, 1), 1, "python3 counts as one sleeper");
    assert.equal((await python.done).split("\n").at(-1), "1000 1000");
    shm.unlink();
  },
);

test(
  "300 futex_wait_async calls on 300 words in python3 take three futex_waitv threads (127 words each), and all wake",
  SLOW,
  async () => {
    using shm = new SharedMemory({ create: true, size: 4 * 300, name: uniqueName("pyaw_words") });
    const words = new Int32Array(shm.buf.buffer);
    const python = pythonAsync(["futex-words", shm.name, "300"]);
    assert.equal(await python.nextLine(), "waiting 3");
    for (let i = 0; i < 300; i++) {
      Atomics.store(words, i, 1);
      futex.notify(words, i);
    }
    assert.equal((await python.done).split("\n").at(-1), "300");
    shm.unlink();
  },
);

const WAKERS: Record<string, Runtime> = { event: "bun", semaphore: "node", condition: "deno", barrier: "bun" };

test(
  `Event.wait_async in python3 returns True when ${WAKERS.event} sets it, the loop running meanwhile`,
  SLOW,
  async () => {
    await withObject(() => Event.create(), async (event, json) => {
      const python = pythonAsync(["event-wait", json, "20000"]);
      await python.line("waiting");
      await sleep(PAUSE_MS);
      await runPeer(WAKERS.event, ["event-set", json]);
      const { words, ticks } = await answer(python);
      assert.deepEqual(words, ["True"]);
      assert.ok(ticks >= MIN_TICKS, `the loop ran its timer ${ticks} times`);
      assert.equal(event.isSet(), true);
    });
  },
);

test(`Semaphore.acquire_async in python3 takes the unit ${WAKERS.semaphore} releases`, SLOW, async () => {
  await withObject(() => Semaphore.create({ value: 0 }), async (semaphore, json) => {
    const python = pythonAsync(["sem-acquire", json, "20000"]);
    await python.line("waiting");
    await sleep(PAUSE_MS);
    await runPeer(WAKERS.semaphore, ["sem-release", json, "1"]);
    const { words, ticks } = await answer(python);
    assert.deepEqual(words, ["True"]);
    assert.ok(ticks >= MIN_TICKS, `the loop ran its timer ${ticks} times`);
    assert.equal(semaphore.value, 0, "python3 took the one unit");
  });
});

test(`Condition.wait_async in python3 (inside async with) is notified by ${WAKERS.condition}`, SLOW, async () => {
  await withObject(() => Condition.create(), async (condition, json) => {
    const python = pythonAsync(["cond-wait", json, "20000"]);
    await python.line("waiting");
    await sleep(PAUSE_MS);
    await runPeer(WAKERS.condition, ["cond-notify", json, "1"]);
    const { words, ticks } = await answer(python);
    assert.deepEqual(words, ["True"]);
    assert.ok(ticks >= MIN_TICKS, `the loop ran its timer ${ticks} times`);
    assert.equal(condition.mutex.tryLock(), true, "python3 released the mutex when its async with ended");
    condition.mutex.unlock();
  });
});

test(`Barrier.wait_async in python3 trips with a ${WAKERS.barrier} party, each with its own index`, SLOW, async () => {
  await withObject(() => Barrier.create({ parties: 2 }), async (_barrier, json) => {
    const python = pythonAsync(["barrier-wait", json, "20000"]);
    await python.line("waiting");
    await sleep(PAUSE_MS);
    const theirs = await runPeer(WAKERS.barrier, ["barrier-wait", json, "20000", "async"]);
    const { words, ticks } = await answer(python);
    assert.deepEqual([words[0], theirs].sort(), ["0", "1"]);
    assert.ok(ticks >= MIN_TICKS, `the loop ran its timer ${ticks} times`);
  });
});

test(`Mutex.acquire_async in python3 gets the mutex when this ${THIS_RUNTIME} process unlocks it`, SLOW, async () => {
  await withObject(() => Mutex.create(), async (mutex, json) => {
    assert.equal(mutex.lock(), true);
    const python = pythonAsync(["mutex-lock", json, "20000"]);
    await python.line("waiting");
    await sleep(PAUSE_MS);
    mutex.unlock();
    const { words, ticks } = await answer(python);
    assert.deepEqual(words, ["True", "False"]);
    assert.ok(ticks >= MIN_TICKS, `the loop ran its timer ${ticks} times`);
    assert.equal(mutex.tryLock(), true, "python3 released it");
    mutex.unlock();
  });
});

// Not a Node holder: the kernel marks no OWNER_DIED for a killed Node holder yet (README, "When a holder dies")
for (const holder of ["deno", "bun"] as const) {
  test(
    `Mutex.acquire_async in python3 gets the mutex at once when its ${holder} holder is SIGKILLed, and owner_died says so`,
    SLOW,
    async () => {
      await withObject(() => Mutex.create(), async (_mutex, json) => {
        const held = startPeer(holder, ["mutex-hold", json]);
        await held.line("locked false");
        const python = pythonAsync(["mutex-lock", json, "20000"]);
        await python.line("waiting");
        await sleep(PAUSE_MS);
        held.child.kill("SIGKILL");
        const { words, ticks } = await answer(python);
        assert.deepEqual(words, ["True", "True"]);
        assert.ok(ticks >= MIN_TICKS, `the loop ran its timer ${ticks} times`);
      });
    },
  );
}

test(
  "acquire_async and wait_async in python3 answer False after their timeout, the loop running meanwhile",
  SLOW,
  async () => {
    await withObject(() => Mutex.create(), async (mutex, json) => {
      assert.equal(mutex.lock(), true);
      const { words, ticks } = await answer(pythonAsync(["mutex-lock", json, "400"]));
      assert.deepEqual(words, ["False", "False"]);
      assert.ok(ticks >= MIN_TICKS, `the loop ran its timer ${ticks} times`);
      mutex.unlock();
    });
    await withObject(() => Event.create(), async (_event, json) => {
      const { words, ticks } = await answer(pythonAsync(["event-wait", json, "400"]));
      assert.deepEqual(words, ["False"]);
      assert.ok(ticks >= MIN_TICKS, `the loop ran its timer ${ticks} times`);
    });
  },
);

test(
  "asyncio.wait_for around Event.wait_async cancels the wait: the waiter count is back to 0, nothing is pending",
  SLOW,
  async () => {
    await withObject(() => Event.create(), async (_event, json) => {
      assert.equal(await pythonAsync(["wait-for", json, "-1", "0.3"]).done, "TimeoutError 0 0");
    });
  },
);

const CANCELLED: Record<string, () => Disposable & { descriptor: { name: string } }> = {
  event: () => Event.create(),
  semaphore: () => Semaphore.create({ value: 0 }),
  condition: () => Condition.create(),
  barrier: () => Barrier.create({ parties: 2 }),
};

for (const [kind, make] of Object.entries(CANCELLED)) {
  test(
    `task.cancel() cancels a pending ${kind} wait in python3: no waiter counted, no wait pending, no lock held`,
    SLOW,
    async () => {
      await withObject(make, async (object, json) => {
        const out = await pythonAsync(["cancel", kind, json]).done;
        assert.equal(out, "waiting\ncancelled 0 0 False");
        if (object instanceof Barrier) assert.equal(object.broken, true, "a cancelled party breaks the barrier");
        if (object instanceof Condition) {
          assert.equal(object.mutex.tryLock(), true, "python3 took the mutex back, then its async with released it");
          object.mutex.unlock();
        }
      });
    },
  );
}

test(
  "a cancelled Mutex.acquire_async in python3 leaves the mutex to a blocking TypeScript locker when this process unlocks it",
  SLOW,
  async () => {
    await withObject(() => Mutex.create(), async (mutex, json) => {
      assert.equal(mutex.lock(), true);
      const python = pythonAsync(["cancel", "mutex", json]);
      await python.line("waiting");
      // a blocking locker in another process sleeps in pthread_mutex_lock meanwhile
      const locker = startPeer("deno", ["mutex-lock", json, "20000", "sync"]);
      assert.equal((await python.done).split("\n").at(-1), "cancelled 0 0 False");
      await sleep(PAUSE_MS);
      mutex.unlock();
      assert.equal(await locker.done, "true false");
      assert.equal(mutex.tryLock(), true, "the locker released it as it exited");
      mutex.unlock();
    });
  },
);
