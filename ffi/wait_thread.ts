/**
 * The body of the Worker that waits off the event loop where the runtime has no `nonblocking` calls
 * (Bun; Node.js): it blocks in `futex_waitv` on the set of words the main thread wrote into the shared
 * slots (`THREAD_SLOTS`), plus the generation slot as its control word, and posts `[generation, index]`
 * when a word is woken or differs. It answers each generation once, then sleeps until the next.
 * It never returns to its own event loop: the main thread reaches it only through the shared slots.
 */
import { rawWaitBinding } from "./runtime.ts";
import { encodeWaitv, THREAD_SLOTS } from "./wait.ts";
import type { LinuxSync } from "./platforms.ts";

interface Start {
  shared: SharedArrayBuffer;
  sync: LinuxSync;
}

const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent<Start>) => void) | null;
  postMessage(message: unknown): void;
};

scope.onmessage = ({ data: { shared, sync } }) => {
  scope.onmessage = null;
  const raw = rawWaitBinding();
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
    const index = raw.waitv(
      encodeWaitv(sync, addresses, expected, { address: control, expected: generation }),
      count + 1,
    );
    if (count === 0 || index === count) continue;
    if (index < 0 && Atomics.load(slots, THREAD_SLOTS.generation) !== generation) continue;
    answered = generation;
    scope.postMessage([generation, index]);
  }
};
