/** futex: Atomics.wait / notify across processes, sync and async, in every pairing of Deno, Bun, Node and python3. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { futex, SharedMemory } from "../mod.ts";
import { PEERS, runPeer, startPeer } from "./helpers/sync.ts";
import { uniqueName } from "./helpers/segments.ts";
import { RUNTIMES, THIS_RUNTIME } from "./helpers/processes.ts";

/** Bun's test runner stops a node:test test after 5 s whatever bunfig.toml says: these start processes. */
const LONG = { timeout: 120_000 };

function segment(tag: string): { shm: SharedMemory; words: Int32Array } & Disposable {
  const shm = new SharedMemory({ name: uniqueName(tag), create: true, size: 4096 });
  return { shm, words: new Int32Array(shm.buf.buffer), [Symbol.dispose]: () => shm[Symbol.dispose]() };
}

test("futex.wait answers not-equal and timed-out as Atomics.wait does", LONG, () => {
  using s = segment("fx_answers");
  assert.equal(futex.wait(s.words, 0, 1), "not-equal");
  assert.equal(futex.wait(s.words, 0, 0, 0), "timed-out");
  assert.equal(futex.wait(s.words, 0, 0, 20), "timed-out");
  assert.equal(futex.notify(s.words, 0), 0);
});

test("a timed futex.wait lasts its limit, whole seconds and the fraction", LONG, () => {
  using s = segment("fx_limit");
  const start = performance.now();
  assert.equal(futex.wait(s.words, 0, 0, 1250), "timed-out");
  const took = performance.now() - start;
  assert.ok(took >= 1245 && took < 4000, `waited ${took} ms`);
});

test("futex refuses what is not an Int32Array over shared memory, and indexes out of range", LONG, () => {
  using s = segment("fx_refuse");
  assert.throws(() => futex.wait(new Int32Array(4), 0, 0, 0), TypeError);
  assert.throws(() => futex.notify(new Uint32Array(s.shm.buf.buffer) as unknown as Int32Array, 0), TypeError);
  assert.throws(() => futex.wait(s.words, 1024, 0, 0), RangeError);
  assert.throws(() => futex.wait(s.words, -1, 0, 0), RangeError);
  assert.throws(() => futex.notify(s.words, 0.5), TypeError);
  assert.throws(() => futex.wait(s.words, 0, 0, "1" as unknown as number), TypeError);
  const closed = new Int32Array(s.shm.buf.buffer);
  s.shm.close();
  assert.throws(() => futex.notify(closed, 0), RangeError);
});

test("futex finds the words of two segments used in turn, and refuses one closed since", LONG, () => {
  using a = segment("fx_turn_a");
  const b = segment("fx_turn_b");
  Atomics.store(a.words, 0, 5);
  Atomics.store(b.words, 0, 7);
  // a wait that found the other segment's word would see its value and time out instead
  for (let i = 0; i < 3; i++) {
    assert.equal(futex.wait(a.words, 0, 7, 0), "not-equal");
    assert.equal(futex.wait(b.words, 0, 5, 0), "not-equal");
    assert.equal(futex.wait(a.words, 0, 5, 0), "timed-out");
    assert.equal(futex.notify(b.words, 0), 0);
  }
  assert.throws(() => futex.wait(a.words, 1024, 5, 0), RangeError);
  const closed = new Int32Array(b.shm.buf.buffer);
  assert.equal(futex.notify(closed, 0), 0);
  assert.equal(futex.notify(a.words, 0), 0); // the closed one is now the view seen before last
  b[Symbol.dispose]();
  assert.throws(() => futex.notify(closed, 0), RangeError);
  assert.throws(() => futex.notify(closed, 0), RangeError);
  assert.equal(futex.wait(a.words, 0, 7, 0), "not-equal");
});

test("futex works on a SharedArrayBuffer too (one process: its threads)", LONG, async () => {
  const words = new Int32Array(new SharedArrayBuffer(16));
  assert.equal(futex.wait(words, 1, 0, 5), "timed-out");
  const pending = futex.waitAsync(words, 1, 0, { timeout: 10_000 });
  setTimeout(() => {
    Atomics.store(words, 1, 7);
    futex.notify(words, 1);
  }, 20);
  assert.equal(await pending, "ok");
});

test("futex.waitAsync times out, and an aborted signal rejects with its reason", LONG, async () => {
  using s = segment("fx_cancel");
  assert.equal(await futex.waitAsync(s.words, 0, 1), "not-equal");
  assert.equal(await futex.waitAsync(s.words, 0, 0, { timeout: 0 }), "timed-out");
  assert.equal(await futex.waitAsync(s.words, 0, 0, { timeout: 30 }), "timed-out");
  const reason = new Error("stop waiting");
  const controller = new AbortController();
  const pending = futex.waitAsync(s.words, 1, 0, { signal: controller.signal });
  setTimeout(() => controller.abort(reason), 20);
  await assert.rejects(pending, (error) => error === reason);
  await assert.rejects(futex.waitAsync(s.words, 1, 0, { signal: AbortSignal.abort(reason) }), (e) => e === reason);
});

test(`a timer keeps firing while a futex.waitAsync is pending (${THIS_RUNTIME})`, LONG, async () => {
  using s = segment("fx_timer");
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  const pending = futex.waitAsync(s.words, 0, 0, { timeout: 10_000 });
  await new Promise((resolve) => setTimeout(resolve, 150));
  Atomics.store(s.words, 0, 1);
  futex.notify(s.words, 0);
  assert.equal(await pending, "ok");
  clearInterval(timer);
  assert.ok(ticks >= 5, `the timer fired ${ticks} times in 150 ms`);
});

// Each wait of the thread that waits off the event loop lasts at most a second (Deno's pool, Bun's and
// Node's wait thread: ffi/wait.ts POOL_WAIT_CHECK_SECONDS, ffi/wait_thread.ts), then waits again: a wait
// with no timeout sleeps on through those looks, neither answered early nor lost, and is woken after.
test(
  "a futex.waitAsync with no timeout stays pending past the waiting thread's looks, then is woken",
  LONG,
  async () => {
    using s = segment("fx_looks");
    let answer: string | undefined;
    const pending = futex.waitAsync(s.words, 0, 0).then((value) => answer = value);
    await new Promise((resolve) => setTimeout(resolve, 2600));
    assert.equal(answer, undefined, "answered with the word unchanged and no notify");
    Atomics.store(s.words, 0, 1);
    futex.notify(s.words, 0);
    assert.equal(await pending, "ok");
  },
);

for (const waiter of PEERS) {
  for (const notifier of PEERS) {
    for (const mode of waiter === "python3" ? ["sync"] : ["sync", "async"]) {
      test(`${notifier} wakes a ${mode} futex wait in ${waiter}`, LONG, async () => {
        using s = segment(`fx_${waiter}_${notifier}`.replace("python3", "py"));
        const waiting = startPeer(waiter, ["futex-wait", s.shm.name, "3", "0", "20000", mode]);
        const woken = await runPeer(notifier, ["futex-notify", s.shm.name, "3"]);
        assert.equal(woken, "1");
        const [answer, ticks] = (await waiting.done).split(" ");
        assert.equal(answer, "ok");
        if (mode === "async") assert.ok(Number(ticks) >= 0);
      });
    }
  }
}

for (const runtime of RUNTIMES) {
  test(`a ${runtime} process ends on process.exit() while a futex.waitAsync is pending`, LONG, async () => {
    using s = segment(`fx_exit_${runtime}`);
    // a process that cannot end is SIGKILLed at 30 s: the peer then rejects
    assert.equal(await runPeer(runtime, ["futex-exit", s.shm.name, "8"], 30_000), "pending");
  });

  test(`a timer keeps firing in ${runtime} while its futex.waitAsync is pending`, LONG, async () => {
    using s = segment(`fx_ticks_${runtime}`);
    const waiting = startPeer(runtime, ["futex-wait", s.shm.name, "0", "0", "300", "async"]);
    const [answer, ticks] = (await waiting.done).split(" ");
    assert.equal(answer, "timed-out");
    assert.ok(Number(ticks) >= 10, `a 5 ms timer fired ${ticks} times during a 300 ms wait`);
  });

  test(`1,000 pending futex.waitAsync calls in ${runtime} are woken by one notify from python3`, LONG, async () => {
    using s = segment(`fx_many_${runtime}`);
    const waiting = startPeer(runtime, ["futex-many", s.shm.name, "5", "1000"]);
    await waiting.line("ready");
    // The word stays 0, so only a wake-up can end the waits: python3 notifies until one notify reaches the
    // process's one waiting thread, and that one wake-up ends all 1,000.
    assert.equal(await runPeer("python3", ["futex-notify", s.shm.name, "5"]), "1");
    assert.equal((await waiting.done).split("\n").at(-1), "1000");
  });
}

// Across CPUs a round trip costs 55-70 us on this VM (an idle vCPU
// halts at once), so 1,000,000 there take over a minute per pairing. 100,000 sync between Deno and Bun, 20,000 async
// per pairing and 10,000 with python3 (whose own loop is slower) hit the same race windows hundreds of
// thousands of times over the whole set and keep it at about ten seconds.
const PAIRS: [string, string, string][] = [
  ["deno", "bun", "sync"],
  ["deno", "deno", "async"],
  ["bun", "bun", "async"],
  ["deno", "bun", "async"],
  ["node", "node", "async"],
  ["deno", "node", "sync"],
  ["bun", "node", "async"],
  ["deno", "python3", "sync"],
  ["bun", "python3", "sync"],
  ["node", "python3", "sync"],
  ["python3", "python3", "sync"],
];
// The full 1,000,000, with both processes on one CPU, where a round trip costs 5-8 us: every wake-up
// there is a preemption, and one lost would leave both asleep until the 10 s limit of a wait (the answer would
// then come short of the count, or the 240 s bound would end it). This runtime against the next one.
const NEXT = { deno: "bun", bun: "node", node: "deno" } as const;
test(`1,000,000 sync futex ping-pongs between ${THIS_RUNTIME} and ${NEXT[THIS_RUNTIME]} on one CPU lose no wake-up`, {
  timeout: 300_000,
}, async () => {
  using s = segment(`fx_pp_million_${THIS_RUNTIME}`);
  const rounds = 1_000_000;
  const a = startPeer(THIS_RUNTIME, ["pingpong", s.shm.name, String(rounds), "0", "sync"], 240_000, "0");
  const b = startPeer(NEXT[THIS_RUNTIME], ["pingpong", s.shm.name, String(rounds), "1", "sync"], 240_000, "0");
  assert.deepEqual(await Promise.all([a.done, b.done]), [String(2 * rounds), String(2 * rounds)]);
});

for (const [first, second, mode] of PAIRS) {
  const rounds = first === "python3" || second === "python3" ? 10_000 : mode === "sync" ? 100_000 : 20_000;
  test(`${rounds} ${mode} futex ping-pongs between ${first} and ${second} lose no wake-up`, LONG, async () => {
    using s = segment(`fx_pp_${first}_${second}`.replace(/python3/g, "py"));
    const modeOf = (peer: string) => peer === "python3" ? "sync" : mode;
    const a = startPeer(first as "deno", ["pingpong", s.shm.name, String(rounds), "0", modeOf(first)]);
    const b = startPeer(second as "deno", ["pingpong", s.shm.name, String(rounds), "1", modeOf(second)]);
    assert.deepEqual(await Promise.all([a.done, b.done]), [String(2 * rounds), String(2 * rounds)]);
  });
}
