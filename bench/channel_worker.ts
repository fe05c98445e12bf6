/** The Worker of the channel benchmark's postMessage row: answers every message with the same value. */
import process from "node:process";

const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent) => void) | null;
  postMessage?: (v: unknown) => void;
};
if (typeof scope.postMessage === "function") {
  const post = scope.postMessage.bind(globalThis);
  scope.onmessage = (event) => post(event.data);
} else {
  // Node: a node:worker_threads Worker, whose parent is its parentPort
  const { parentPort } = process.getBuiltinModule("node:worker_threads") as unknown as {
    parentPort: { on(event: "message", listener: (value: unknown) => void): void; postMessage(v: unknown): void };
  };
  parentPort.on("message", (value) => parentPort.postMessage(value));
}
