/**
 * The crash watcher: a process of the same runtime, one per watched process, started by its first
 * tracked create (`link.ts`). It reads the protocol's lines (`protocol.ts`) from a pipe whose only
 * writers are that process's threads. The pipe ends (EOF) when that process ends, whatever ends it,
 * SIGKILL or any other signal included; the watcher then removes every claim still ours
 * (`ownership.ts`), says so in one line on stderr, and exits.
 *
 * It reads in batches: after a read it sleeps up to `GATHER_MS` before reading again. A write to a pipe
 * that no one is blocked reading wakes no one, so while a process creates and unlinks many segments,
 * each change costs it one system call and not a wake-up of the watcher. The writer never waits for it
 * (its end is non-blocking: `link.ts`); the watcher sleeps less when the writer is fast, so that the
 * pipe (64 KiB) rarely fills; and the end of the pipe is seen at most `GATHER_MS` after the writer is gone.
 */
import { systemCalls } from "../../ffi/runtime.ts";
import { type Claim, removeIfOurs } from "./ownership.ts";
import { parseLine, splitLine } from "./protocol.ts";
import { leftoverWarning, warn } from "./warnings.ts";

/** How long the watcher lets changes gather in the pipe after a read before it reads again, at most. */
const GATHER_MS = 25;

/** How much it lets gather, at most: an eighth of a pipe of the default size (64 KiB on Linux). */
const GATHER_BYTES = 8192;

/** The most one read takes: a whole pipe of the default size, so that one read empties it. */
const READ_BYTES = 65536;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Applies one line to `lines` (the last announce or created line of each resource still claimed). Lines
 * are only split here, and parsed once the writer is gone: the watcher shares the CPU with its process.
 */
function apply(lines: Map<string, string>, line: string): void {
  const change = splitLine(line);
  if (change?.command === "forget") lines.delete(change.key);
  else if (change) lines.set(change.key, line);
}

/** Reads changes from `fd` until the writer is gone; returns the claims still held then. */
async function readClaims(fd: number, writer: number): Promise<Claim[]> {
  const sys = systemCalls();
  const claims = new Map<string, string>();
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
    for (const line of lines) apply(claims, line);
    // Let the next changes gather: GATHER_MS, or less when the writer's rate since the last read (count
    // bytes since then) would bring more than GATHER_BYTES by then.
    await sleep(Math.min(GATHER_MS, GATHER_BYTES * (readAt - lastRead) / count));
    lastRead = readAt;
  }
  return [...claims.values()].map(parseLine).flatMap((change) =>
    change && change.command !== "forget" ? [change.claim] : []
  );
}

/** Watches process `writer` through `fd`, then removes what it left that is still its own, and says so. */
export async function watch(fd: number, writer: number): Promise<void> {
  const left = await readClaims(fd, writer);
  const removed = left.filter(removeIfOurs).map((claim) => claim.name);
  if (removed.length > 0) warn(leftoverWarning(removed, `by process ${writer}, which ended without unlinking`));
}
