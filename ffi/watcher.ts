/**
 * The crash watcher's entry point: its logic is `src/cleanup/watcher.ts`; this file only reads the
 * command line the runtime gave it (`ProcessRuntime.spawn`).
 *
 *   deno run --allow-ffi ffi/watcher.ts FD PID      bun run ffi/watcher.ts FD PID
 *
 * FD is the pipe's read end in the watcher, PID the process whose threads write to it.
 */
import { watch } from "../src/cleanup/watcher.ts";

if (import.meta.main) {
  const [fd, writer] = (globalThis as unknown as { process: { argv: string[] } }).process.argv.slice(2).map(Number);
  watch(fd, writer);
}
