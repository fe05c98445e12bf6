/**
 * The crash watcher: a process of the same runtime that a process starts with its first tracked
 * segment. It reads one line per change from a pipe whose only writer is that process, `+name` when a
 * segment is created and `-name` when it is unlinked. The pipe ends (EOF) when that process ends,
 * whatever ends it, SIGKILL included; the watcher then unlinks every name still registered, says so
 * in one line on stderr, and exits.
 *
 *   deno run --allow-ffi ffi/watcher.ts FD PID      bun run ffi/watcher.ts FD PID
 *
 * FD is the pipe's descriptor in the watcher, PID the process that writes to it.
 */
import { libc } from "./runtime.ts";
import { processRuntime } from "./process.ts";

/** The first character of a line: the name after it was created, or unlinked. */
export const REGISTER = "+";
export const UNREGISTER = "-";

/** A line's first character. */
export type Change = typeof REGISTER | typeof UNREGISTER;

/** One line for the pipe: the name is URI-encoded, so that no name can hold a newline. */
export function protocolLine(change: Change, name: string): string {
  return `${change}${encodeURIComponent(name)}\n`;
}

/** The one warning line either cleaner prints: `shared-memory: unlinked 1 segment left at exit: psm_1a2b3c4d`. */
export function leftoverWarning(names: readonly string[], where: string): string {
  const count = names.length === 1 ? "1 segment" : `${names.length} segments`;
  return `shared-memory: unlinked ${count} left ${where}: ${names.join(", ")}`;
}

/** Reads changes from `fd` until the writer is gone; returns the names still registered then. */
async function readRegistrations(fd: number, writer: number): Promise<Set<string>> {
  const { sys } = processRuntime();
  const names = new Set<string>();
  const buffer = new Uint8Array(4096);
  const decoder = new TextDecoder();
  let pending = "";
  for (;;) {
    const count = await sys.read(fd, buffer);
    if (count <= 0) {
      // EOF, or an error such as EINTR: only the writer's end (it is no longer our parent) ends the watch.
      if (count === 0 || sys.getppid() !== writer) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
      continue;
    }
    pending += decoder.decode(buffer.subarray(0, count), { stream: true });
    const lines = pending.split("\n");
    pending = lines.pop()!;
    for (const line of lines) {
      const name = decodeURIComponent(line.slice(1));
      if (line[0] === REGISTER) names.add(name);
      else if (line[0] === UNREGISTER) names.delete(name);
    }
  }
  return names;
}

/** Watches process `writer` through `fd`, then unlinks what it left and says so. */
async function watch(fd: number, writer: number): Promise<void> {
  const left = await readRegistrations(fd, writer);
  const unlinked = [...left].filter((name) => libc().shmUnlink(name) === 0);
  if (unlinked.length > 0) {
    console.error(leftoverWarning(unlinked, `by process ${writer}, which ended without unlinking`));
  }
}

if (import.meta.main) {
  const [fd, writer] = (globalThis as unknown as { process: { argv: string[] } }).process.argv.slice(2).map(Number);
  watch(fd, writer);
}
