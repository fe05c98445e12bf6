/**
 * The loop of the thread that waits off the event loop where the runtime has no `nonblocking` calls
 * (Bun; Node.js) and io_uring cannot wait instead (`uring.ts`: refused, or a kernel before 6.7): it
 * blocks in `futex_waitv` on the set of words the main thread wrote into the shared
 * slots (`THREAD_SLOTS`), plus the generation slot as its control word, and posts `[generation, index]`
 * when a word is woken or differs. It answers each generation once, then sleeps until the next.
 * The main thread reaches it only through the shared slots. `wait_worker.ts` runs it in a web Worker;
 * a runtime whose threads look otherwise (Node's worker_threads) calls `serveWaits` from its own few lines.
 *
 * Each `futex_waitv` lasts at most `WAIT_THREAD_CHECK_SECONDS`, then the loop looks again whether it should go
 * on. A thread blocked in the kernel cannot be stopped from outside: when its owner (a Worker) is
 * terminated, the runtime asks this thread to end too, and it can only do so once it is back in JS; Node
 * joins it meanwhile, and the process could never exit (docs/runtime-facts.md). One wake-up a second,
 * with nothing posted, is the whole cost of waiting with nothing happening.
 */
import type { LinuxSync } from "./platforms.ts";
import { encodeWaitv, type RawWait, THREAD_SLOTS } from "./wait.ts";

/** What the main thread sends the wait thread, once. */
export interface WaitThreadStart {
  shared: SharedArrayBuffer;
  sync: LinuxSync;
}

/** The longest one `futex_waitv` of the wait thread lasts before the loop looks again whether to go on. */
export const WAIT_THREAD_CHECK_SECONDS = 1;

/**
 * Serves waits on this (blocking) thread while `goOn()` says so (by default, until the runtime ends the
 * thread); `post` sends one answer to the main thread.
 */
export function serveWaits(
  raw: RawWait,
  { shared, sync }: WaitThreadStart,
  post: (answer: [number, number]) => void,
  goOn: () => boolean = () => true,
): void {
  const slots = new Int32Array(shared, 0, 2);
  const words = new Float64Array(shared, THREAD_SLOTS.firstWordByte);
  const control = raw.addressOf(shared);
  const deadline = new BigInt64Array(2);
  const checkSeconds = BigInt(WAIT_THREAD_CHECK_SECONDS);
  let answered = 0;
  while (goOn()) {
    const generation = Atomics.load(slots, THREAD_SLOTS.generation);
    const count = generation === answered ? 0 : Atomics.load(slots, THREAD_SLOTS.count);
    const addresses: number[] = [];
    const expected: number[] = [];
    for (let i = 0; i < count; i++) {
      addresses.push(words[2 * i]);
      expected.push(words[2 * i + 1]);
    }
    const waiters = encodeWaitv(sync, addresses, expected, { address: control, expected: generation });
    raw.clock_gettime(sync.CLOCK_MONOTONIC, deadline);
    deadline[0] += checkSeconds;
    const index = raw.waitv(waiters, count + 1, deadline);
    const error = index < 0 ? raw.errno() : 0;
    if (error === sync.ETIMEDOUT) continue; // nothing happened: look whether to go on, then wait again
    if (count === 0 || index === count) continue;
    if (index < 0 && Atomics.load(slots, THREAD_SLOTS.generation) !== generation) continue;
    answered = generation;
    post([generation, index]);
  }
}
