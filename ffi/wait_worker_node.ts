/**
 * Node's wait thread (a `node:worker_threads` Worker started by `nodeWorkerThread` in `node.ts`): the loop
 * of `wait_thread.ts` with this thread's own binding. Its one difference from the web Worker
 * (`wait_worker.ts`): Node joins worker threads when the process exits, so this one must end then rather
 * than block again. Before each `futex_waitv` it reads the stop word that the main thread sets on `exit`
 * (before bumping the generation it wakes this thread with). A terminated owner (a Worker whose wait thread
 * this is) runs no `exit` listener: then Node ends this thread itself, once its bounded `futex_waitv`
 * returns to JS (`WAIT_THREAD_CHECK_SECONDS`).
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
  const stop = new Int32Array(start.stop);
  serveWaits(rawWaitBinding(), start, (answer) => parentPort.postMessage(answer), () => Atomics.load(stop, 0) === 0);
  process.exit(0); // in a worker thread, ends this thread only
});
