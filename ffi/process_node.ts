/** Node's exit event and subprocesses. Only `runtime.ts` imports this file, and only inside Node. */
import type { ProcessRuntime } from "./process.ts";
import { type ChildProcessModule, spawnDetached } from "./detached_child.ts";

/** The part of Node's `process` used here. */
interface NodeProcess {
  readonly pid: number;
  readonly execPath: string;
  readonly permission?: { has(scope: string): boolean };
  on(event: string, listener: () => void): void;
  getBuiltinModule(id: "node:child_process"): ChildProcessModule;
  getBuiltinModule(id: "node:fs"): { existsSync(path: string): boolean };
}

const process = (globalThis as unknown as { process: NodeProcess }).process;

/**
 * How a Node child runs the watcher: `--experimental-ffi` turns `node:ffi` on in Node 26.1-26.8 (it
 * is on by default from 26.9, where the flag does nothing). The child's stderr is this process's own,
 * so Node's warnings are turned off there: its ExperimentalWarning line, and under `--permission` (whose
 * flags Node hands on to children in NODE_OPTIONS) the SecurityWarning lines this process already
 * printed. The watcher prints only what it unlinked.
 */
const WATCHER_FLAGS = [
  "--experimental-ffi",
  "--disable-warning=ExperimentalWarning",
  "--disable-warning=SecurityWarning",
];

/**
 * The watcher's file: `watcher.ts` beside this one, or `watcher.js` where the package was installed
 * as JavaScript (JSR's npm packages are compiled, and Node strips no types under node_modules).
 */
function watcherPath(script: URL): string {
  const path = decodeURIComponent(script.pathname);
  const compiled = path.replace(/\.ts$/, ".js");
  const fs = process.getBuiltinModule("node:fs");
  return !fs.existsSync(path) && fs.existsSync(compiled) ? compiled : path;
}

/** Node's process: as Bun's (Bun copies Node's `process`), with Node's command line for the watcher. */
export function nodeProcess(): ProcessRuntime {
  return {
    pid: process.pid,
    // `exit` runs on falling off the end, process.exit(), an uncaught error and an unhandled rejection;
    // not when `uncaughtException` / `unhandledRejection` listeners handle them. In a worker_threads
    // Worker, `process` is the Worker's own: `exit` runs when it ends by process.exit() or running out of work.
    onExit: (cleanup) => process.on("exit", cleanup),
    whyNoWatcher() {
      // Under the permission model (`--permission`) a child process needs `--allow-child-process`.
      if (process.permission && !process.permission.has("child")) {
        return "Node needs --allow-child-process to start one";
      }
      return undefined;
    },
    spawn(script, fd, args) {
      const path = watcherPath(script);
      spawnDetached(
        process.getBuiltinModule("node:child_process"),
        process.execPath,
        [...WATCHER_FLAGS, path, "0", ...args],
        fd,
        path,
      );
    },
  };
}
