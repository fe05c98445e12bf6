/**
 * What cleanup at exit needs from the runtime besides libc's shared memory calls: its exit events and
 * signal listeners, starting the watcher process, and a few more system calls (a pipe, signal
 * dispositions). `process_deno.ts` and `process_bun.ts` provide it; only this file chooses between them.
 */
import { currentRuntime, UnsupportedPlatformError } from "./runtime.ts";
import { platformFor } from "./platforms.ts";
import { denoProcess } from "./process_deno.ts";
import { bunProcess } from "./process_bun.ts";

/** The signals that end a process by default and can be listened for (same numbers on Linux and macOS). */
export const SIGNALS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;

/** One of `SIGNALS`. */
export type SignalName = keyof typeof SIGNALS;

/** The C calls, as a runtime binding declares them; every result `< 0` is a failure. */
export interface SystemCalls {
  /** `int pipe2(int fds[2], int flags)`; undefined where libc lacks it (macOS). */
  readonly pipe2?: (fds: Int32Array, flags: number) => number;
  /** `int dup(int fd)`: a copy that does not have close-on-exec set. */
  dup(fd: number): number;
  /** `ssize_t write(int fd, const void *buf, size_t count)` */
  write(fd: number, bytes: Uint8Array): number;
  /** `ssize_t read(int fd, void *buf, size_t count)`, without blocking the event loop where the runtime can. */
  read(fd: number, buffer: Uint8Array): Promise<number>;
  /** `int close(int fd)` */
  close(fd: number): number;
  /** `int sigaction(int sig, const struct sigaction *act, struct sigaction *old)`; null leaves that side out. */
  sigaction(signal: number, act: Uint8Array | null, old: Uint8Array | null): number;
  /** `int kill(pid_t pid, int sig)` */
  kill(pid: number, signal: number): number;
  /** `pid_t getppid(void)` */
  getppid(): number;
}

/** A runtime's process: its events, its signals, and starting another process of the same runtime. */
export interface ProcessRuntime {
  /** This process's id. */
  readonly pid: number;
  /** The system calls, loaded from the platform's libc. */
  readonly sys: SystemCalls;
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

/** The `O_CLOEXEC` flag of `pipe2`, where the watcher's pipe can be made (the same on x86-64 and arm64). */
export const PIPE_CLOEXEC: Readonly<Record<string, number>> = { linux: 0o2000000 };

let chosen: ProcessRuntime | undefined;

/** This runtime's process, loaded on first use. Throws `UnsupportedPlatformError` elsewhere. */
export function processRuntime(): ProcessRuntime {
  if (chosen) return chosen;
  const runtime = currentRuntime();
  const platform = runtime && platformFor(runtime.os, runtime.arch);
  if (!runtime || !platform) throw new UnsupportedPlatformError("cleanup at exit needs Deno or Bun on Linux or macOS");
  const make = { deno: denoProcess, bun: bunProcess }[runtime.name];
  let lastError: unknown;
  for (const library of platform.libraries) {
    try {
      return chosen = make(library.libc);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}
