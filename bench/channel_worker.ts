/** The Worker of the channel benchmark's postMessage row: answers every message with the same value. */
const scope = globalThis as unknown as {
  onmessage: ((event: MessageEvent) => void) | null;
  postMessage(v: unknown): void;
};
scope.onmessage = (event) => scope.postMessage(event.data);
