/**
 * Review 3 of Bun making self-unmapping buffers on the main thread only (ffi/bun.ts): a Worker's mappings
 * go by the FinalizationRegistry (src/mapping.ts), as in Deno and Node. A Worker that ends however it
 * ends while it holds a mutex must hand it on with ownerDied (the kernel walks the dead thread's robust
 * list through the mapping, which must still be there), in every runtime.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Channel, Mutex } from "../mod.ts";
import { segmentExists, uniqueName } from "./helpers/segments.ts";
import { run, scriptCommand, THIS_RUNTIME } from "./helpers/processes.ts";
import { startWorker } from "./helpers/worker.ts";

const LONG = { timeout: 60_000 };

for (const how of ["exit", "close", "throw"] as const) {
  test(`a Worker that ends by ${how} holding a mutex hands it on with ownerDied`, {
    ...LONG,
    skip: how === "close" && THIS_RUNTIME === "node" ? "a node:worker_threads Worker has no self.close()" : false,
  }, async () => {
    using mutex = Mutex.create();
    const worker = startWorker(new URL("./fixtures/review3_exit_holding_worker.ts", import.meta.url));
    try {
      const locked = worker.next<string>();
      worker.postMessage({ descriptor: mutex.descriptor, how });
      assert.equal(await locked, "locked");
      assert.equal(mutex.tryLock(), false);
      worker.next().catch(() => {}); // the error of "throw"
      assert.equal(
        await mutex.lockAsync({ timeout: 10_000 }),
        true,
        `the lock of a Worker ended by ${how} was handed on`,
      );
      assert.equal(mutex.ownerDied, true);
      mutex.unlock();
    } finally {
      worker.terminate();
    }
  });
}

// A channel's side of many senders is a robust mutex in the channel's own segment, held from tryReserve()
// to commit(). In Bun before 78a2f01 the terminated Worker's teardown unmapped its attach of that segment,
// and the next sender waited for the lock for good (seen: sendAsync never answered).
test("a Worker terminated between tryReserve() and commit() hands the channel's send side on", LONG, async () => {
  const name = uniqueName("r3_reserve");
  const worker = startWorker(new URL("./fixtures/review3_reserve_worker.ts", import.meta.url));
  {
    using channel = Channel.create({ capacity: 4096, name });
    try {
      const reserved = worker.next<string>();
      worker.postMessage(channel.descriptor);
      assert.equal(await reserved, "reserved");
    } finally {
      worker.terminate();
    }
    await channel.sendAsync("after", { timeout: 10_000 });
    assert.equal(channel.tryReceive(), "after");
  }
  assert.equal(segmentExists(name), false);
});

// Bun's main thread completes this loop (hostile_mappings.test.ts): a collection during the loop runs the
// mappings' deallocators, which unmap them. A Worker's mappings now wait for the FinalizationRegistry,
// whose callbacks never run inside a synchronous loop: the loop takes every mapping the kernel allows,
// and Bun then aborts the whole process (seen: "panic: abort() called" before the loop's own ENOMEM),
// as V8 does in Deno. Before 78a2f01 the Worker completed all 70,000. The process must not die: the
// loop completes, or ends with the library's ENOMEM error.
test("Bun: 70,000 attaches in a synchronous loop in a Worker, none closed, do not kill the process", {
  ...LONG,
  skip: THIS_RUNTIME !== "bun"
    ? "Deno and Node: finalizers never run inside a synchronous loop on any thread (hostile_mappings.test.ts)"
    : false,
}, () => {
  const result = run(scriptCommand("bun", "tests/fixtures/review3_many_attaches_worker.ts"));
  assert.equal(result.signal, null, `bun died of ${result.signal}: ${result.stderr.slice(0, 400)}`);
  assert.equal(result.status, 0, result.stderr.slice(0, 400));
  const answer = JSON.parse(result.stdout.trim()) as { attached: number; code?: string };
  assert.ok(answer.attached === 70_000 || answer.code === "ENOMEM", result.stdout);
});
