/**
 * The Worker of the handoff benchmark: receives `{ data, work, transfer }`, changes `data` in place
 * and posts it back, copied by structured clone, or moved when `transfer` is set.
 */
import process from "node:process";
import { type Work, work } from "./work.ts";

type Message = { data: Uint8Array<ArrayBuffer>; work: Work; transfer: boolean };

/** The parent side: the web Worker's globals (Deno, Bun), or node:worker_threads' parentPort (Node). */
interface Parent {
  onMessage(listener: (message: Message) => void): void;
  postMessage(message: unknown, transfer?: Transferable[]): void;
}

function parent(): Parent {
  const web = globalThis as unknown as {
    onmessage: ((event: MessageEvent<Message>) => void) | null;
    postMessage?: (message: unknown, transfer?: Transferable[]) => void;
  };
  if (typeof web.postMessage === "function") {
    const post = web.postMessage.bind(globalThis);
    return { onMessage: (listener) => web.onmessage = (event) => listener(event.data), postMessage: post };
  }
  const threads = process.getBuiltinModule("node:worker_threads") as unknown as {
    parentPort: { on(event: "message", listener: (message: Message) => void): void } & Pick<Parent, "postMessage">;
  };
  const port = threads.parentPort;
  return { onMessage: (listener) => port.on("message", listener), postMessage: (m, t) => port.postMessage(m, t) };
}

const scope = parent();

scope.onMessage((message) => {
  work(message.data, message.work);
  if (message.transfer) scope.postMessage(message.data, [message.data.buffer]);
  else scope.postMessage(message.data);
});
scope.postMessage("ready");
