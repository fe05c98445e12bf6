/**
 * Segments this process created and has not unlinked yet, and their removal when it ends.
 *
 * Two cleaners share this list; the first tracked segment starts both (`track: false` starts neither):
 * - hooks in this process, for every end that still runs code (a normal end, exit calls, an uncaught
 *   error or rejection, SIGINT/SIGTERM/SIGHUP that the program does not handle itself: ffi/exit.ts);
 * - the crash watcher, a second process that is told of each create and unlink, and unlinks what is
 *   left once this process is gone, SIGKILL included (ffi/watcher.ts).
 * Each says what it removed in one line on stderr. Attaching never tracks: a process that only
 * attached never removes a segment.
 */
import { libc } from "../ffi/runtime.ts";
import { type CrashWatcher, leftoverWarning, startWatcher, whenProcessEnds } from "../ffi/exit.ts";

const tracked = new Set<string>();
let started = false;
let watcher: CrashWatcher | undefined;

/** Remembers a segment this process created; the first one starts the cleanup. */
export function track(name: string): void {
  if (!started) start();
  tracked.add(name);
  if (watcher && !watcher.send("+", name)) lostWatcher("the crash watcher has stopped");
}

/** Forgets a segment once it is unlinked. */
export function untrack(name: string): void {
  if (tracked.delete(name) && watcher && !watcher.send("-", name)) lostWatcher("the crash watcher has stopped");
}

/** The names still tracked. */
export function trackedNames(): string[] {
  return [...tracked];
}

/** Unlinks every segment still tracked, and names the ones it removed in one line on stderr. */
function unlinkTracked(): void {
  const unlinked = [...tracked].filter((name) => libc().shmUnlink(name) === 0);
  for (const name of [...tracked]) untrack(name);
  if (unlinked.length > 0) console.error(leftoverWarning(unlinked, "at exit"));
}

function start(): void {
  started = true;
  try {
    whenProcessEnds(unlinkTracked);
  } catch (error) {
    // Never let the cleanup's own failure fail the create (the segment would then be left behind).
    console.error(`shared-memory: no cleanup at exit (${messageOf(error)}); tracked segments stay until unlinked`);
    return;
  }
  let result: CrashWatcher | string;
  try {
    result = startWatcher();
  } catch (error) {
    result = `it could not start: ${messageOf(error)}`;
  }
  if (typeof result === "string") lostWatcher(`no crash watcher (${result})`);
  else watcher = result;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Says, once, what still holds without a watcher. */
function lostWatcher(why: string): void {
  watcher = undefined;
  console.error(
    `shared-memory: ${why}; tracked segments are still unlinked when this process exits, ` +
      "but not if it is killed with SIGKILL",
  );
}
