/** Bun's exit hook and subprocesses. Only `runtime.ts` imports this file, and only inside Bun. */
import type { ProcessRuntime } from "./process.ts";
import { type ChildProcessModule, spawnDetached } from "./detached_child.ts";

/** The part of Node's `process` used here, as Bun provides it. */
interface BunProcess {
  readonly pid: number;
  readonly execPath: string;
  on(event: string, listener: () => void): void;
  getBuiltinModule(id: "node:child_process"): ChildProcessModule;
}

const process = (globalThis as unknown as { process: BunProcess }).process;

/** Bun's process. */
export function bunProcess(): ProcessRuntime {
  return {
    pid: process.pid,
    // `exit` runs on falling off the end, process.exit(), an uncaught error and an unhandled rejection;
    // not when `uncaughtException` / `unhandledRejection` listeners handle them (docs/runtime-facts.md). In a
    // Worker it runs at self.close() and process.exit() there, not at terminate() (measured).
    onExit: (cleanup) => process.on("exit", cleanup),
    whyNoWatcher(script) {
      // A program compiled with `bun build --compile` runs from an embedded file system.
      return script.href.includes("/$bunfs/") ? "a compiled program cannot start one" : undefined;
    },
    spawn(script, fd, args) {
      const path = decodeURIComponent(script.pathname);
      spawnDetached(
        process.getBuiltinModule("node:child_process"),
        process.execPath,
        ["run", path, "0", ...args],
        fd,
        path,
      );
    },
  };
}
