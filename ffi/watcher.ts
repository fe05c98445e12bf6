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
 *
 * The watcher reads in batches: after a read it sleeps up to `GATHER_MS` before reading again. A write
 * to a pipe that no one is blocked reading wakes no one, so while a process creates and unlinks many
 * segments, its writes cost it a system call each and not a wake-up of the watcher each (measured on
 * a shared 2-core machine: a tracked create + unlink went from 20-60 us to 6-12 us above an untracked
 * one). Nothing can deadlock: the watcher waits on a timer, never on the writer; it sleeps less when
 * the writer is fast, so that the pipe (64 KiB) does not fill; a writer that fills it anyway waits
 * only until the next read; and the end of the pipe is seen at most `GATHER_MS` after the writer is gone.
 */
import { libc, systemCalls } from "./runtime.ts";

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

/** How long the watcher lets changes gather in the pipe after a read before it reads again, at most. */
const GATHER_MS = 25;

/** How much it lets gather, at most: an eighth of a pipe of the default size (64 KiB on Linux). */
const GATHER_BYTES = 8192;

/** The most one read takes: a whole pipe of the default size, so that one read empties it. */
const READ_BYTES = 65536;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Reads changes from `fd` until the writer is gone; returns the names still registered then. */
async function readRegistrations(fd: number, writer: number): Promise<Set<string>> {
  const sys = systemCalls();
  const names = new Set<string>();
  const buffer = new Uint8Array(READ_BYTES);
  const decoder = new TextDecoder();
  let pending = "";
  let lastRead = performance.now();
  for (;;) {
    const count = await sys.read(fd, buffer);
    const readAt = performance.now();
    if (count <= 0) {
      // EOF, or an error such as EINTR: only the writer's end (it is no longer our parent) ends the watch.
      if (count === 0 || sys.getppid() !== writer) break;
      await sleep(100);
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
    // Let the next changes gather: GATHER_MS, or less when the writer's rate since the last read (count
    // bytes since then) would bring more than GATHER_BYTES by then, so that a fast writer finds room in the pipe.
    await sleep(Math.min(GATHER_MS, GATHER_BYTES * (readAt - lastRead) / count));
    lastRead = readAt;
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
