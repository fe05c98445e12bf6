/**
 * Review: many groups of async waits at once. Each group of up to 127 words has one request in flight on
 * this thread's io_uring (Bun, Node), whose completion queue holds 128 entries: more completions than
 * that at once wait in the kernel's overflow list, and none of them may be lost (a lost one is a wait
 * that never wakes). In Deno the same waits go through its pool (the behaviour is the same).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { futex, SharedMemory } from "../mod.ts";
import { uniqueName } from "./helpers/segments.ts";

const LONG = { timeout: 120_000 };
/** 394 groups of 127: three times the completion queue. */
const COUNT = 50_000;

async function pendingOnEveryWord(shm: SharedMemory) {
  const words = new Int32Array(shm.buf.buffer);
  const answers = { ok: 0, timedOut: 0, rejected: 0 };
  const waits = Array.from(
    { length: COUNT },
    (_, i) =>
      futex.waitAsync(words, i, 0, { timeout: 8_000 }).then(
        (answer) => answer === "ok" ? answers.ok++ : answers.timedOut++,
        () => answers.rejected++,
      ),
  );
  // Every group's request in the kernel before the wake-ups come
  await new Promise((resolve) => setTimeout(resolve, 100));
  return { words, answers, settled: () => Promise.all(waits) };
}

test(`${COUNT} waits on as many words (394 groups) all wake when each word is notified`, LONG, async () => {
  using shm = new SharedMemory({ name: uniqueName("rv2_groups"), create: true, size: COUNT * 4 });
  const { words, answers, settled } = await pendingOnEveryWord(shm);
  for (let i = 0; i < COUNT; i++) {
    Atomics.store(words, i, 1);
    futex.notify(words, i);
  }
  await settled();
  assert.deepEqual(answers, { ok: COUNT, timedOut: 0, rejected: 0 });
});

test(`${COUNT} waits on as many words all reject at once when their segment closes`, LONG, async () => {
  const shm = new SharedMemory({ name: uniqueName("rv2_groups"), create: true, size: COUNT * 4 });
  try {
    const { answers, settled } = await pendingOnEveryWord(shm);
    shm.close();
    await settled();
    assert.deepEqual(answers, { ok: 0, timedOut: 0, rejected: COUNT });
  } finally {
    shm.close();
    shm.unlink();
  }
});
