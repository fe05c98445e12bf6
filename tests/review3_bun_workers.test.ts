/**
 * Review 3 of Bun making self-unmapping buffers on the main thread only (ffi/bun.ts): a Worker's mappings
 * go by the FinalizationRegistry (src/mapping.ts), as in Deno and Node. A Worker that ends however it
 * ends while it holds a mutex must hand it on with ownerDied (the kernel walks the dead thread's robust
 * list through the mapping, which must still be there), in every runtime.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Mutex } from "../mod.ts";
import { THIS_RUNTIME } from "./helpers/processes.ts";
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
      assert.equal(await mutex.lockAsync({ timeout: 10_000 }), true, `the lock of a Worker ended by ${how} was handed on`);
      assert.equal(mutex.ownerDied, true);
      mutex.unlock();
    } finally {
      worker.terminate();
    }
  });
}
