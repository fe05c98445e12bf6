/** Bun's exit events, signal listeners and subprocesses. Only `ffi/process.ts` imports this file, and only inside Bun. */
import type { ProcessRuntime, SignalName, SystemCalls } from "./process.ts";

/** The part of `bun:ffi` used here (Deno type-checks this file, so it is declared, not imported). */
interface BunFfi {
  dlopen(
    path: string,
    symbols: Record<string, { args: readonly string[]; returns: string }>,
  ): { symbols: Record<string, (...args: unknown[]) => number> };
}

/** The part of Node's `process` used here, as Bun provides it. */
interface BunProcess {
  readonly pid: number;
  readonly execPath: string;
  on(event: string, listener: () => void): void;
  off(event: string, listener: () => void): void;
  listeners(event: string): unknown[];
  getBuiltinModule(id: "node:child_process"): {
    spawn(file: string, args: string[], options: object): {
      on(event: "error", listener: (error: Error) => void): void;
      unref(): void;
    };
  };
}

const process = (globalThis as unknown as { process: BunProcess }).process;

/** The symbol table, C prototypes beside each declaration. */
const symbols = {
  // int dup(int oldfd)
  dup: { args: ["i32"], returns: "i32" },
  // ssize_t write(int fd, const void *buf, size_t count)
  write: { args: ["i32", "ptr", "u64"], returns: "i64_fast" },
  // ssize_t read(int fd, void *buf, size_t count); Bun blocks the thread (only the watcher reads)
  read: { args: ["i32", "ptr", "u64"], returns: "i64_fast" },
  // int close(int fd)
  close: { args: ["i32"], returns: "i32" },
  // int sigaction(int signum, const struct sigaction *act, struct sigaction *oldact)
  sigaction: { args: ["i32", "ptr", "ptr"], returns: "i32" },
  // int kill(pid_t pid, int sig)
  kill: { args: ["i32", "i32"], returns: "i32" },
  // pid_t getppid(void)
  getppid: { args: [], returns: "i32" },
};

// int pipe2(int pipefd[2], int flags); Linux only, so opened on its own
const pipeSymbols = { pipe2: { args: ["ptr", "i32"], returns: "i32" } };

function bind(path: string): SystemCalls {
  const ffi = (import.meta as unknown as { require(id: string): BunFfi }).require("bun:ffi");
  const c = ffi.dlopen(path, symbols).symbols;
  let pipe2: ((fds: Int32Array, flags: number) => number) | undefined;
  try {
    const p = ffi.dlopen(path, pipeSymbols).symbols;
    pipe2 = (fds, flags) => p.pipe2(fds, flags);
  } catch {
    pipe2 = undefined;
  }
  return {
    pipe2,
    dup: (fd) => c.dup(fd),
    write: (fd, bytes) => Number(c.write(fd, bytes, bytes.length)),
    read: (fd, buffer) => Promise.resolve(Number(c.read(fd, buffer, buffer.length))),
    close: (fd) => c.close(fd),
    sigaction: (signal, act, old) => c.sigaction(signal, act, old),
    kill: (pid, signal) => c.kill(pid, signal),
    getppid: () => c.getppid(),
  };
}

/** Bun's process, with the system calls from the libc at `path`. */
export function bunProcess(path: string): ProcessRuntime {
  return {
    pid: process.pid,
    sys: bind(path),
    // `exit` runs on falling off the end, process.exit(), an uncaught error and an unhandled rejection;
    // not when `uncaughtException` / `unhandledRejection` listeners handle them (runtime-ffi-facts).
    onExit: (cleanup) => process.on("exit", cleanup),
    listen: (signal: SignalName, listener) => process.on(signal, listener),
    programListens: (signal: SignalName, ours) => process.listeners(signal).some((listener) => listener !== ours),
    seesEarlierListeners: true,
    whyNoWatcher(script) {
      // A program compiled with `bun build --compile` runs from an embedded file system.
      return script.href.includes("/$bunfs/") ? "a compiled program cannot start one" : undefined;
    },
    spawn(script, fd, args) {
      // `fd` becomes the child's stdin; `detached` gives the child its own session.
      const path = decodeURIComponent(script.pathname);
      const child = process.getBuiltinModule("node:child_process").spawn(
        process.execPath,
        ["run", path, "0", ...args],
        { stdio: [fd, "ignore", "inherit"], detached: true, cwd: path.slice(0, path.lastIndexOf("/")) || "/" },
      );
      // A child that fails to start shows as a broken pipe at the next write.
      child.on("error", () => {});
      child.unref();
    },
  };
}
