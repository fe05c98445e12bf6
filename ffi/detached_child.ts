/**
 * Starting the crash watcher through `node:child_process`, as Bun and Node both do (`process_bun.ts`,
 * `process_node.ts`): one way, so that the two cannot drift apart.
 */

/** The part of `node:child_process` used here (Bun provides it too). */
export interface ChildProcessModule {
  spawn(file: string, args: string[], options: object): {
    on(event: "error", listener: (error: Error) => void): void;
    unref(): void;
  };
}

/**
 * Starts `file args...` with `fd` as its stdin, no stdout and this process's stderr, in a session of its
 * own (`detached`: a Ctrl-C at the terminal does not reach it), in the folder of `script` (a path), and
 * not holding this process's event loop.
 */
export function spawnDetached(
  childProcess: ChildProcessModule,
  file: string,
  args: string[],
  fd: number,
  script: string,
): void {
  const child = childProcess.spawn(file, args, {
    stdio: [fd, "ignore", "inherit"],
    detached: true,
    cwd: script.slice(0, script.lastIndexOf("/")) || "/",
  });
  // A child that fails to start shows as a broken pipe at the next write.
  child.on("error", () => {});
  child.unref();
}
