/**
 * Node's wait thread (a `node:worker_threads` Worker started by `nodeWorkerThread` in `node.ts`): the loop
 * of `wait_thread.ts` with this thread's own binding. Its one difference from the web Worker
 * (`wait_worker.ts`): Node joins worker threads when the process exits, so this one must end then rather
 * than block again. Before each `futex_waitv` and after it returns, it reads the stop word that the main
 * thread sets on `exit` (before bumping the generation it wakes this thread with).
 */
import type { NodeWaitThreadStart } from "./node.ts";
import { rawWaitBinding } from "./runtime.ts";
import { serveWaits } from "./wait_thread.ts";

/** The part of `node:worker_threads` and `process` used here. */
interface NodeThread {
  parentPort: {
    once(event: "message", listener: (start: NodeWaitThreadStart) => void): void;
    postMessage(message: unknown): void;
  };
}

const process = (globalThis as unknown as {
  process: { getBuiltinModule(id: string): unknown; exit(code?: number): never };
}).process;
const { parentPort } = process.getBuiltinModule("node:worker_threads") as NodeThread;

parentPort.once("message", (start) => {
  const raw = rawWaitBinding();
  const stop = new Int32Array(start.stop);
  // In a worker thread, process.exit() ends this thread only.
  const stopNow = () => Atomics.load(stop, 0) !== 0 && process.exit(0);
  const waitv = raw.waitv;
  const stoppable = {
    ...raw,
    waitv(waiters: Uint8Array, count: number) {
      stopNow();
      const index = waitv(waiters, count);
      stopNow();
      return index;
    },
  };
  serveWaits(stoppable, start, (answer) => parentPort.postMessage(answer));
});
