/**
 * Review 3 of the waits off the event loop (ffi/wait.ts, src/sync/futex.ts Group): many groups, and
 * waits that end or begin around the second when a wait thread's call ends and it waits again (Bun's and
 * Node's wait thread; Deno's pool calls had the same bound for a day). The same waits go through Deno's
 * pool, io_uring or the wait thread: the answers must be the same.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { futex, SharedMemory } from "../mod.ts";
import { uniqueName } from "./helpers/segments.ts";
import { THIS_RUNTIME } from "./helpers/processes.ts";
import { waitsOnEveryWord } from "./helpers/sync.ts";

const LONG = { timeout: 60_000 };
const DENO_POOL = "Deno's pool runs about 32 waits at once; later groups queue (known: docs/runtime-facts.md)";
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// Deno runs at most about 32 `nonblocking` calls at once (32 pool threads were seen in futex_waitv with
// 630 groups pending): the other groups' calls queue, and the first ones hold the threads until they end,
// so a word changed and notified in a queued group does not wake its wait.
test(
  "with 630 groups pending (more than Deno's pool runs at once), a word of the last group changed and notified wakes",
  {
    ...LONG,
    skip: THIS_RUNTIME === "deno" ? DENO_POOL : false,
  },
  async () => {
    const count = 630 * 127;
    await using pending = waitsOnEveryWord("r3_turns", count);
    const { words, waits } = pending;
    await sleep(1500);
    const last = count - 1;
    const start = performance.now();
    Atomics.store(words, last, 1);
    futex.notify(words, last);
    const answer = await Promise.race([waits[last], sleep(5000).then(() => "still pending after 5 s")]);
    assert.equal(answer, "ok", `after ${Math.round(performance.now() - start)} ms`);
  },
);

// Timeouts and aborts that fall around the end of the first pool call (1 s), waits added then, and
// words changed and notified then: each wait answers what it should, none is lost or answered twice.
test(
  "1,200 waits (10 groups) timing out, aborted, added and woken around the pool call's second all answer right",
  LONG,
  async () => {
    const count = 1200;
    using shm = new SharedMemory({ name: uniqueName("r3_edge"), create: true, size: 2 * count * 4 });
    const words = new Int32Array(shm.buf.buffer);
    const expected: string[] = [];
    const answers: Promise<string>[] = [];
    const near = (i: number) => 960 + (i % 80); // 960-1039 ms
    const timers: ReturnType<typeof setTimeout>[] = [];
    for (let i = 0; i < count; i++) {
      const kind = i % 4;
      if (kind === 0) {
        expected.push("timed-out");
        answers.push(futex.waitAsync(words, i, 0, { timeout: near(i) }));
      } else if (kind === 1) {
        const controller = new AbortController();
        timers.push(setTimeout(() => controller.abort(new Error("aborted")), near(i)));
        expected.push("rejected: aborted");
        answers.push(
          futex.waitAsync(words, i, 0, { signal: controller.signal }).catch((e) => `rejected: ${e.message}`),
        );
      } else if (kind === 2) {
        // changed and notified around the second
        timers.push(setTimeout(() => {
          Atomics.store(words, i, 1);
          futex.notify(words, i);
        }, near(i)));
        expected.push("ok");
        answers.push(futex.waitAsync(words, i, 0, { timeout: 20_000 }));
      } else {
        // a wait added around the second, on a word of its own, woken later
        const word = count + i;
        expected.push("ok");
        answers.push(
          new Promise<string>((resolve) => {
            timers.push(setTimeout(() => resolve(futex.waitAsync(words, word, 0, { timeout: 20_000 })), near(i)));
          }),
        );
      }
    }
    try {
      await sleep(1600);
      for (let i = 3; i < count; i += 4) {
        Atomics.store(words, count + i, 1);
        futex.notify(words, count + i);
      }
      const settled = await Promise.race([Promise.all(answers), sleep(8000).then(() => undefined)]);
      assert.ok(settled, "some waits still pending 8 s after the last wake-up");
      const wrong = settled.map((answer, i) => [i, answer, expected[i]]).filter(([, a, e]) => a !== e);
      assert.deepEqual(wrong.slice(0, 10), [], `${wrong.length} waits answered wrong`);
    } finally {
      for (const timer of timers) clearTimeout(timer);
      for (let i = 0; i < 2 * count; i++) {
        Atomics.store(words, i, 1);
        futex.notify(words, i);
      }
      await Promise.race([Promise.allSettled(answers), sleep(5000)]);
    }
  },
);
