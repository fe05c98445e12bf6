/**
 * A module Worker, the same way in every runtime: the web `Worker` where the runtime has one (Deno, Bun),
 * else `node:worker_threads` (Node.js has no web Worker). Both sides: `startWorker` in the parent,
 * `parentScope` in the worker.
 */
import process from "node:process";

/** The part of `node:worker_threads` used here. */
interface WorkerThreads {
  Worker: new (url: URL) => {
    postMessage(message: unknown): void;
    once(event: "message" | "error", listener: (value: never) => void): void;
    terminate(): unknown;
  };
  parentPort: { on(event: "message", listener: (data: unknown) => void): void; postMessage(message: unknown): void };
}

const threads = () => process.getBuiltinModule("node:worker_threads") as unknown as WorkerThreads;

/** A started Worker: send it messages, wait for its next reply (a failure of the worker rejects). */
export interface TestWorker {
  postMessage(message: unknown): void;
  next<T>(): Promise<T>;
  terminate(): void;
}

/** Starts the module at `url` as a Worker. */
export function startWorker(url: URL): TestWorker {
  const Web = (globalThis as { Worker?: new (url: URL, options: { type: "module" }) => Worker }).Worker;
  if (Web) {
    const worker = new Web(url, { type: "module" });
    return {
      postMessage: (message) => worker.postMessage(message),
      next: <T>() =>
        new Promise<T>((resolve, reject) => {
          worker.onmessage = (event) => resolve(event.data);
          worker.onerror = (event) => reject(new Error(`the worker failed: ${event.message}`));
        }),
      terminate: () => worker.terminate(),
    };
  }
  const worker = new (threads().Worker)(url);
  return {
    postMessage: (message) => worker.postMessage(message),
    next: <T>() =>
      new Promise<T>((resolve, reject) => {
        worker.once("message", (data: T) => resolve(data));
        worker.once("error", (error: Error) => reject(new Error(`the worker failed: ${error.message}`)));
      }),
    terminate: () => void worker.terminate(),
  };
}

/** Inside a Worker: its parent, to receive messages from and post replies to. */
export function parentScope(): {
  onMessage(listener: (data: unknown) => void): void;
  postMessage(message: unknown): void;
} {
  const web = globalThis as unknown as {
    postMessage?: (message: unknown) => void;
    onmessage: ((event: { data: unknown }) => void) | null;
  };
  if (typeof web.postMessage === "function") {
    const post = web.postMessage.bind(globalThis);
    return { onMessage: (listener) => web.onmessage = (event) => listener(event.data), postMessage: post };
  }
  const port = threads().parentPort;
  return { onMessage: (listener) => port.on("message", listener), postMessage: (message) => port.postMessage(message) };
}

/** Inside a Worker: answers each message with what `reply` returns, or with `{ error }` (its stack) if it throws. */
export function answerEach(reply: (data: unknown) => unknown): void {
  const parent = parentScope();
  parent.onMessage((data) => {
    try {
      parent.postMessage(reply(data));
    } catch (error) {
      parent.postMessage({ error: String((error as Error)?.stack ?? error) });
    }
  });
}
