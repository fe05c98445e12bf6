/**
 * What cleanup (`src/cleanup/`) needs from a runtime besides libc: its exit hook, and starting the
 * crash watcher. `process_deno.ts`, `process_bun.ts` and `process_node.ts` provide it, `runtime.ts` chooses between them
 * (`processRuntime()`); the system calls come from the one libc binding (`systemCalls()`). A binding
 * for another runtime (Node.js) implements these four members and nothing else.
 *
 * There is deliberately no signal listener here: a listener changes what a signal does (a busy program
 * would only die when its loop ends, and could not be stopped by Ctrl-C), so signals are left to the
 * program, and a process killed by one is cleaned up after by the watcher, like any crash.
 */

/** A runtime's process: its exit hook, and starting another process of the same runtime. */
export interface ProcessRuntime {
  /** This process's id (the same in every Worker). */
  readonly pid: number;
  /**
   * Calls `cleanup` (synchronously, once) when this thread ends running code: out of work,
   * `process.exit()`, `Deno.exit()`, an uncaught error or unhandled rejection that nothing handles.
   * In a Worker, where the runtime has such a hook (see the README: Cleanup, Workers).
   */
  onExit(cleanup: () => void): void;
  /** Why this process can never start a watcher process (a missing permission, a compiled program), or undefined. */
  whyNoWatcher(script: URL): string | undefined;
  /**
   * Starts `script` in this runtime with the arguments `FD ...args`, where FD is the number that
   * descriptor `fd` (close-on-exec clear) has in the child: in a session of its own (a Ctrl-C at the
   * terminal does not reach it), with no stdin or stdout, this process's stderr, and not holding this
   * process's event loop. Returns once the child exists (it then holds its copy of `fd`); throws if it
   * cannot start.
   */
  spawn(script: URL, fd: number, args: readonly string[]): void;
}
