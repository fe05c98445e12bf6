/**
 * Wake-ups that must never be lost or wait forever: a wake-up this process's wait thread took for a word
 * whose JS waiters all left goes on to the word's next sleeper, and a segment closed under pending async
 * waits ends them at once (in Deno, whose pool thread waits with no time limit, they slept on for good).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Event, futex, Semaphore, SharedMemory } from "../mod.ts";
import { startPeer, untilInFutex } from "./helpers/sync.ts";
import { uniqueName } from "./helpers/segments.ts";
import { THIS_RUNTIME } from "./helpers/processes.ts";

/** Bun's test runner stops a node:test test after 5 s whatever bunfig.toml says: these start processes. */
const LONG = { timeout: 120_000 };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test(
  "a wake-up taken for a word whose async waiters were aborted goes on to a sleeper in another process",
  LONG,
  async () => {
    using shm = new SharedMemory({ name: uniqueName("wake_pass_on"), create: true, size: 4096 });
    const words = new Int32Array(shm.buf.buffer);
    const aborted = new AbortController();
    const gone = futex.waitAsync(words, 0, 0, { signal: aborted.signal });
    // word 1 keeps this process's wait thread asleep on both words after word 0's waiter leaves
    const kept = futex.waitAsync(words, 1, 0, { timeout: 60_000 });
    await sleep(100); // the thread is in the kernel, queued on word 0 first
    aborted.abort(new Error("left"));
    await assert.rejects(gone, /left/);
    const sleeper = startPeer(THIS_RUNTIME, ["futex-wait", shm.name, "0", "0", "20000", "sync", "announce"]);
    await sleeper.line("waiting");
    await untilInFutex(sleeper.child.pid!, 5_000); // from "waiting" to asleep in the kernel
    futex.notify(words, 0, 1); // the kernel hands it to the first queued: this process's thread
    const [answer] = (await sleeper.done).split("\n").at(-1)!.split(" ");
    assert.equal(answer, "ok", "the other process's sleeper got the wake-up of one");
    Atomics.store(words, 1, 1);
    futex.notify(words, 1);
    assert.equal(await kept, "ok");
  },
);

test("closing a segment under pending async waits rejects them at once", LONG, async () => {
  const shm = new SharedMemory({ name: uniqueName("wake_close"), create: true, size: 4096 });
  try {
    const event = Event.create({ shm, offset: 0 });
    const semaphore = Semaphore.create({ shm, offset: 256, value: 0 });
    const words = new Int32Array(shm.buf.buffer, 1024, 4);
    const started = Date.now();
    const waits = [
      event.waitAsync({ timeout: 60_000 }),
      semaphore.acquireAsync({ timeout: 60_000 }),
      futex.waitAsync(words, 0, 0, { timeout: 60_000 }),
    ].map((wait) => wait.then((value) => ({ value }), (error: unknown) => ({ error })));
    await sleep(100);
    event.close();
    semaphore.close();
    shm.close();
    const outcomes = await Promise.all(waits);
    const took = Date.now() - started - 100;
    for (const outcome of outcomes) {
      assert.ok("error" in outcome, `a wait on a closed segment ended: ${JSON.stringify(outcome)}`);
    }
    assert.ok(took < 5_000, `the waits ended ${took} ms after the close (bound 5 s)`);
  } finally {
    shm.unlink();
  }
});
