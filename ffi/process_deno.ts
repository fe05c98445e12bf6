/** Deno's exit events, signal listeners and subprocesses. Only `ffi/process.ts` imports this file, and only inside Deno. */
import type { ProcessRuntime, SignalName, SystemCalls } from "./process.ts";

/** The symbol table, C prototypes beside each declaration. */
const symbols = {
  // int pipe2(int pipefd[2], int flags); Linux only
  pipe2: { parameters: ["buffer", "i32"], result: "i32", optional: true },
  // int dup(int oldfd)
  dup: { parameters: ["i32"], result: "i32" },
  // ssize_t write(int fd, const void *buf, size_t count)
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  // ssize_t read(int fd, void *buf, size_t count), on a pool thread so that the event loop keeps running
  read: { parameters: ["i32", "buffer", "usize"], result: "isize", nonblocking: true },
  // int close(int fd)
  close: { parameters: ["i32"], result: "i32" },
  // int sigaction(int signum, const struct sigaction *act, struct sigaction *oldact)
  sigaction: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  // int kill(pid_t pid, int sig)
  kill: { parameters: ["i32", "i32"], result: "i32" },
  // pid_t getppid(void)
  getppid: { parameters: [], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

function bind(path: string): SystemCalls {
  const c = Deno.dlopen(path, symbols).symbols;
  const pipe2 = c.pipe2;
  return {
    pipe2: pipe2 ? (fds, flags) => pipe2(new Uint8Array(fds.buffer, fds.byteOffset, fds.byteLength), flags) : undefined,
    dup: (fd) => c.dup(fd),
    write: (fd, bytes) => Number(c.write(fd, bytes, BigInt(bytes.length))),
    read: async (fd, buffer) => Number(await c.read(fd, buffer, BigInt(buffer.length))),
    close: (fd) => c.close(fd),
    sigaction: (signal, act, old) => c.sigaction(signal, act, old),
    kill: (pid, signal) => c.kill(pid, signal),
    getppid: () => c.getppid(),
  };
}

/**
 * The program's own signal listeners, counted from the moment this runtime object is made: Deno has no
 * way to ask, so `Deno.addSignalListener` and `Deno.removeSignalListener` (which `process.on` uses too)
 * are wrapped to count them. Ours are added with the originals and are never counted.
 */
function countProgramListeners() {
  const counted = new Map<string, Set<unknown>>();
  const add = Deno.addSignalListener;
  const remove = Deno.removeSignalListener;
  const of = (signal: string) => counted.get(signal) ?? counted.set(signal, new Set()).get(signal)!;
  Deno.addSignalListener = (signal, handler) => {
    add(signal, handler);
    of(signal).add(handler);
  };
  Deno.removeSignalListener = (signal, handler) => {
    remove(signal, handler);
    of(signal).delete(handler);
  };
  return { add, count: (signal: string) => of(signal).size };
}

/** Whether an uncaught error or rejection is handled: by a web listener before ours, or by `process.on`. */
function handled(event: Event, nodeEvent: string): boolean {
  const process = (globalThis as { process?: { listenerCount(event: string): number } }).process;
  return event.defaultPrevented || (process?.listenerCount(nodeEvent) ?? 0) > 0;
}

/** Deno's process, with the system calls from the libc at `path`. */
export function denoProcess(path: string): ProcessRuntime {
  const sys = bind(path);
  const signals = countProgramListeners();
  return {
    pid: Deno.pid,
    sys,
    // Falling off the end, Deno.exit() and process.exit() all dispatch `unload`; an uncaught error or
    // rejection dispatches only `error` / `unhandledrejection` (runtime-ffi-facts).
    onExit(cleanup) {
      addEventListener("unload", cleanup);
      addEventListener("error", (event) => handled(event, "uncaughtException") || cleanup());
      addEventListener("unhandledrejection", (event) => handled(event, "unhandledRejection") || cleanup());
    },
    listen: (signal: SignalName, listener) => signals.add(signal, listener),
    programListens: (signal: SignalName) => signals.count(signal) > 0,
    seesEarlierListeners: false,
    whyNoWatcher() {
      if (Deno.build.standalone) return "a compiled program cannot start one";
      const run = Deno.permissions.querySync({ name: "run", command: Deno.execPath() });
      return run.state === "granted" ? undefined : "Deno needs --allow-run to start one";
    },
    spawn(script, fd, args) {
      // The child inherits `fd` (close-on-exec clear) at the same number; `detached` gives it its own session.
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-ffi", "--no-prompt", "--quiet", "--no-config", script.href, String(fd), ...args],
        stdin: "null",
        stdout: "null",
        stderr: "inherit",
        detached: true,
      }).spawn();
      child.unref();
    },
  };
}
