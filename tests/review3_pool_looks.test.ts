/**
 * Review 3 of Deno's pool waits: a `futex.waitAsync` that is pending must stay in the kernel as long as it
 * is pending, or a notify that comes while the pool thread is back between two waits finds no sleeper and
 * is lost. (Each pool wait lasting at most a second, tried to free a terminated Worker's descriptors, lost
 * it while the event loop was busy: taken back, docs/runtime-facts.md.)
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { futex, SharedMemory } from "../mod.ts";
import { uniqueName } from "./helpers/segments.ts";
import { startWorker } from "./helpers/worker.ts";
import { THIS_RUNTIME } from "./helpers/processes.ts";
import { waitsOnEveryWord } from "./helpers/sync.ts";

const LONG = { timeout: 60_000 };
const DENO_POOL = "Deno's pool runs about 32 waits at once; later groups queue (known: docs/runtime-facts.md)";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Blocks this thread (the event loop) for `ms`. */
function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) { /* the main thread is busy: a long computation, a long GC */ }
}

test(
  "a notify that comes while the event loop is busy past the pool wait's second still wakes a pending waitAsync",
  LONG,
  async () => {
    using shm = new SharedMemory({ name: uniqueName("r3_looks"), create: true, size: 4096 });
    const words = new Int32Array(shm.buf.buffer);
    const worker = startWorker(new URL("./fixtures/review3_notifier_worker.ts", import.meta.url));
    assert.equal(await worker.next<string>(), "ready");
    let answer: string | undefined;
    const pending = futex.waitAsync(words, 0, 0).then((value) => answer = value, (error) => answer = String(error));
    try {
      await sleep(300); // the wait is in the kernel now (t = 0.3 s; its pool call ends at t = 1 s)
      const woken = worker.next<number>();
      worker.postMessage({ name: shm.name, afterMs: 1300 }); // notify at t = 1.6 s, word unchanged
      busy(2000); // the event loop is busy from t = 0.3 s to t = 2.3 s
      const count = await woken;
      await Promise.race([pending, sleep(1500)]);
      assert.equal(
        answer,
        "ok",
        `the notify (it woke ${count}) came while the waitAsync was pending; it is ${answer ?? "still pending"}`,
      );
      assert.equal(count, 1, "a kernel sleeper took the notify");
    } finally {
      Atomics.store(words, 0, 1); // end a wait left pending by the failure above
      futex.notify(words, 0);
      await Promise.race([pending, sleep(2000)]);
      worker.terminate();
    }
  },
);

// Deno runs about 32 `nonblocking` calls at once: with more groups (127 waits each) than that, the other
// groups' calls wait in the pool's queue, not in the kernel, and a notify finds no sleeper there.
test("with 630 groups pending, a notify with the word unchanged wakes a wait in each of 20 late groups", {
  ...LONG,
  skip: THIS_RUNTIME === "deno" ? DENO_POOL : false,
}, async () => {
  await using pending = waitsOnEveryWord("r3_queued", 630 * 127);
  const { words, waits } = pending;
  await sleep(1500);
  const late = Array.from({ length: 20 }, (_, g) => (600 + g) * 127);
  const woke = late.map((i) => futex.notify(words, i));
  const answers = await Promise.all(late.map((i) => Promise.race([waits[i], sleep(3000).then(() => "pending")])));
  assert.deepEqual(answers, late.map(() => "ok"), `the notifies woke ${woke.join(" ")}`);
});
