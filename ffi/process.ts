/**
 * What cleanup at exit needs from the runtime besides libc: its exit events and signal listeners, and
 * starting the watcher process. `process_deno.ts` and `process_bun.ts` provide it, `runtime.ts` chooses
 * between them (`processRuntime()`); the system calls come from the one libc binding (`systemCalls()`).
 */
import type { SignalName } from "./platforms.ts";

/** A runtime's process: its events, its signals, and starting another process of the same runtime. */
export interface ProcessRuntime {
  /** This process's id. */
  readonly pid: number;
  /**
   * Calls `cleanup` whenever the process ends running code: out of work, `process.exit()`,
   * `Deno.exit()`, and an uncaught error or unhandled rejection that nothing handles.
   */
  onExit(cleanup: () => void): void;
  /** Adds a listener for `signal`. */
  listen(signal: SignalName, listener: () => void): void;
  /** Whether the program itself listens for `signal` (`ours` not counted). */
  programListens(signal: SignalName, ours: () => void): boolean;
  /**
   * Whether `programListens` also sees listeners added before this runtime object was made. Deno's are
   * counted from then on only: a signal already handled then is left to the program.
   */
  readonly seesEarlierListeners: boolean;
  /** Why this process cannot start a watcher process, or undefined if it can. */
  whyNoWatcher(script: URL): string | undefined;
  /**
   * Starts `script` in this runtime with the arguments `FD ...args`, where FD is the number that
   * descriptor `fd` (close-on-exec clear) has in the child: in a session of its own (a Ctrl-C at the
   * terminal does not reach it), and not holding this process's event loop. Throws if it cannot start.
   */
  spawn(script: URL, fd: number, args: readonly string[]): void;
}
