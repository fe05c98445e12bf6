/**
 * The loop of the thread that waits off the event loop where the runtime has no `nonblocking` calls
 * (Bun; Node.js): it blocks in `futex_waitv` on the set of words the main thread wrote into the shared
 * slots (`THREAD_SLOTS`), plus the generation slot as its control word, and posts `[generation, index]`
 * when a word is woken or differs. It answers each generation once, then sleeps until the next.
 * It never returns: the main thread reaches it only through the shared slots. `wait_worker.ts` runs it
 * in a web Worker; a runtime whose threads look otherwise (Node's worker_threads) calls `serveWaits`
 * from its own few lines.
 */
import type { LinuxSync } from "./platforms.ts";
import { encodeWaitv, type RawWait, THREAD_SLOTS } from "./wait.ts";

/** What the main thread sends the wait thread, once. */
export interface WaitThreadStart {
  shared: SharedArrayBuffer;
  sync: LinuxSync;
}

/** Serves waits forever on this (blocking) thread; `post` sends one answer to the main thread. */
export function serveWaits(raw: RawWait, { shared, sync }: WaitThreadStart, post: (answer: [number, number]) => void) {
  const slots = new Int32Array(shared, 0, 2);
  const words = new Float64Array(shared, THREAD_SLOTS.firstWordByte);
  const control = raw.addressOf(shared);
  let answered = 0;
  for (;;) {
    const generation = Atomics.load(slots, THREAD_SLOTS.generation);
    const count = generation === answered ? 0 : Atomics.load(slots, THREAD_SLOTS.count);
    const addresses: number[] = [];
    const expected: number[] = [];
    for (let i = 0; i < count; i++) {
      addresses.push(words[2 * i]);
      expected.push(words[2 * i + 1]);
    }
    const waiters = encodeWaitv(sync, addresses, expected, { address: control, expected: generation });
    const index = raw.waitv(waiters, count + 1);
    if (count === 0 || index === count) continue;
    if (index < 0 && Atomics.load(slots, THREAD_SLOTS.generation) !== generation) continue;
    answered = generation;
    post([generation, index]);
  }
}
