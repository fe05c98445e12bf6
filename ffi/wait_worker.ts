/** The web Worker (Bun, Deno) that runs the wait thread's loop (`wait_thread.ts`) with this runtime's binding. */
import { rawWaitBinding } from "./runtime.ts";
import { serveWaits, type WaitThreadStart } from "./wait_thread.ts";

const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent<WaitThreadStart>) => void) | null;
  postMessage(message: unknown): void;
};

scope.onmessage = ({ data }) => {
  scope.onmessage = null;
  serveWaits(rawWaitBinding(), data, (answer) => scope.postMessage(answer));
};
