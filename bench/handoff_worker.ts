/**
 * The Worker of the handoff benchmark: receives `{ data, work, transfer }`, changes `data` in place
 * and posts it back, copied by structured clone, or moved when `transfer` is set.
 */
import { type Work, work } from "./work.ts";

interface WorkerScope {
  onmessage: ((event: MessageEvent<{ data: Uint8Array<ArrayBuffer>; work: Work; transfer: boolean }>) => void) | null;
  postMessage(message: unknown, transfer?: Transferable[]): void;
}

const scope = globalThis as unknown as WorkerScope;

scope.onmessage = ({ data: message }) => {
  work(message.data, message.work);
  if (message.transfer) scope.postMessage(message.data, [message.data.buffer]);
  else scope.postMessage(message.data);
};
scope.postMessage("ready");
