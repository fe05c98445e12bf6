/**
 * libc through Node's `node:ffi` (Node.js 26.1+). Only `ffi/runtime.ts` imports this file, and only
 * inside Node, once it knows that `node:ffi` is there (`nodeFfi()`).
 *
 * `node:ffi` takes 64-bit arguments as bigints only (a number is a TypeError) and returns 64-bit
 * results and pointers as bigints, so lengths and addresses are converted at this edge: everything
 * above it sees plain numbers, as with Deno and Bun. It has no `nonblocking` calls: `read` blocks the
 * thread, as in Bun, and only the watcher, a process of its own, ever reads.
 */
import { firstLibrary, firstLibraryIfAny } from "./first_library.ts";
import type { Address, RawLibc } from "./libc.ts";
import type { LibraryCandidate, LinuxSync, Platform } from "./platforms.ts";
import { type MaybeOptional, openWithOptional } from "./optional_symbols.ts";
import type { RawUring } from "./uring.ts";
import { type RawWait, THREAD_SLOTS, type WaitThread, type WaitThreadStarter } from "./wait.ts";

/** A symbol's declaration, as `node:ffi` takes it (the result type's key is `return`: `result` is ignored). */
type NodeSymbol = { arguments: readonly string[]; return: string };

/** A declaration in the table below: `optional` as in Deno, a symbol that this libc may lack. */
type Declaration = MaybeOptional<NodeSymbol>;

/** A library's functions, opened. */
type NodeFunctions = Record<string, (...args: unknown[]) => number | bigint>;

/** The part of `node:ffi` used here (Deno type-checks this file, so it is declared, not imported). */
export interface NodeFfi {
  dlopen(path: string, symbols: Record<string, NodeSymbol>): { functions: NodeFunctions };
  toArrayBuffer(pointer: bigint, length: number, copy: boolean): ArrayBuffer;
  getInt32(pointer: bigint, offset: number): number;
  /** The NUL-terminated C string at `pointer`, as UTF-8. */
  toString(pointer: bigint): string;
  /** The address of a buffer's first byte (an ArrayBuffer's or SharedArrayBuffer's memory never moves in V8). */
  getRawPointer(buffer: ArrayBufferLike): bigint;
}

/** The symbol table, C prototypes beside each declaration. */
function libcSymbols(platform: Platform): Record<string, Declaration> {
  return {
    // int ftruncate(int fd, off_t length)
    ftruncate: { arguments: ["int32", "int64"], return: "int32" },
    // int posix_fallocate(int fd, off_t offset, off_t len); returns the error number; macOS has none
    posix_fallocate: { arguments: ["int32", "int64", "int64"], return: "int32", optional: true },
    // int fchmod(int fd, mode_t mode)
    fchmod: { arguments: ["int32", "uint32"], return: "int32" },
    // int fstat(int fd, struct stat *buf)
    [platform.fstatSymbol]: { arguments: ["int32", "buffer"], return: "int32" },
    // void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset); MAP_FAILED is -1
    mmap: { arguments: ["uint64", "uint64", "int32", "int32", "int32", "int64"], return: "int64" },
    // int munmap(void *addr, size_t length)
    munmap: { arguments: ["uint64", "uint64"], return: "int32" },
    // int close(int fd)
    close: { arguments: ["int32"], return: "int32" },
    // int pipe2(int pipefd[2], int flags); macOS has none: optional, undefined when missing
    pipe2: { arguments: ["buffer", "int32"], return: "int32", optional: true },
    // ssize_t write(int fd, const void *buf, size_t count)
    write: { arguments: ["int32", "buffer", "uint64"], return: "int64" },
    // ssize_t read(int fd, void *buf, size_t count); blocks the thread (only the watcher reads)
    read: { arguments: ["int32", "buffer", "uint64"], return: "int64" },
    // int sigaction(int signum, const struct sigaction *act, struct sigaction *oldact)
    sigaction: { arguments: ["int32", "buffer", "buffer"], return: "int32" },
    // pid_t getppid(void)
    getppid: { arguments: [], return: "int32" },
    // int fcntl(int fd, int cmd, ... (int arg)): variadic, called with one int (x86-64 and arm64 Linux pass it
    // in a register either way)
    fcntl: { arguments: ["int32", "int32", "int32"], return: "int32" },
    // char *getenv(const char *name)
    getenv: { arguments: ["buffer"], return: "pointer" },
    // int setenv(const char *name, const char *value, int overwrite)
    setenv: { arguments: ["buffer", "buffer", "int32"], return: "int32" },
    // int clock_gettime(clockid_t clockid, struct timespec *tp)
    clock_gettime: { arguments: ["int32", "buffer"], return: "int32" },
    // int *__errno_location(void) (glibc, musl) / int *__error(void) (macOS)
    [platform.errnoSymbol]: { arguments: [], return: "pointer" },
  };
}

const shmSymbols = {
  // int shm_open(const char *name, int oflag, mode_t mode)
  shm_open: { arguments: ["buffer", "int32", "uint32"], return: "int32" },
  // int shm_unlink(const char *name)
  shm_unlink: { arguments: ["buffer"], return: "int32" },
};

function open(ffi: NodeFfi, platform: Platform, candidate: LibraryCandidate) {
  const libc = openWithOptional((symbols) => ffi.dlopen(candidate.libc, symbols).functions, libcSymbols(platform));
  const shm = ffi.dlopen(candidate.shm ?? candidate.libc, shmSymbols).functions;
  return { libc, shm };
}

/** `node:ffi`, or undefined where this Node lacks it (before 26.1, or turned off by `--no-experimental-ffi`). */
export function nodeFfi(): NodeFfi | undefined {
  const process = (globalThis as unknown as {
    process: { getBuiltinModule?(id: string): unknown };
  }).process;
  // getBuiltinModule (Node 22.3+) is synchronous, so that importing the library stays synchronous.
  const ffi = process.getBuiltinModule?.("node:ffi") as NodeFfi | undefined;
  if (ffi) withoutFastApiCalls(process.getBuiltinModule!("node:v8") as { setFlagsFromString(flags: string): void });
  return ffi;
}

/**
 * TurboFan's fast API calls for node:ffi functions abort the process now and then in Node 26.10: "Check
 * failed: FastApiCallNode::ArityForArgc(c_arg_count, slow_arg_count) == value_input_count" on the
 * optimizing thread, SIGTRAP (docs/runtime-facts.md: 2 of about 40 Node test and benchmark processes in one CI
 * run, one of them calling only getpid() and abs()). So they are turned off before any call of ours is
 * optimized: every node:ffi call then takes Node's generic path (the flag is process-wide; each thread that loads
 * the library sets it once).
 */
let fastApiCallsOff = false;
function withoutFastApiCalls(v8: { setFlagsFromString(flags: string): void }): void {
  if (fastApiCallsOff) return;
  fastApiCallsOff = true;
  v8.setFlagsFromString("--no-turbo-fast-api-calls");
}

/** A full collection where Node was started with `--expose-gc`; false where it cannot be asked for. */
function collectGarbage(): boolean {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc !== "function") return false;
  gc();
  return true;
}

/** Opens the first library of `platform.libraries` that has every symbol (optional ones may be missing). */
export function bindNode(platform: Platform): RawLibc {
  const ffi = nodeFfi();
  if (!ffi) throw new Error("node:ffi is not available");
  const { libc, shm } = firstLibrary(platform.libraries, (candidate) => open(ffi, platform, candidate));
  const {
    ftruncate,
    posix_fallocate: fallocate,
    fchmod,
    mmap,
    munmap,
    close,
    pipe2,
    write,
    read,
    sigaction,
    getppid,
    fcntl,
    getenv,
    setenv,
    clock_gettime,
  } = libc;
  const fstat = libc[platform.fstatSymbol];
  const errnoPointer = libc[platform.errnoSymbol]() as bigint;
  const { getInt32, toArrayBuffer, toString } = ffi;
  return {
    shm_open: (path, oflag, mode) => shm.shm_open(path, oflag, mode) as number,
    shm_unlink: (path) => shm.shm_unlink(path) as number,
    ftruncate: (fd, length) => ftruncate(fd, BigInt(length)) as number,
    posix_fallocate: fallocate && ((fd, length) => fallocate(fd, 0n, BigInt(length)) as number),
    fchmod: (fd, mode) => fchmod(fd, mode) as number,
    fstat: (fd, buf) => fstat(fd, buf) as number,
    mmap: (address, length, prot, flags, fd) => Number(mmap(BigInt(address), BigInt(length), prot, flags, fd, 0n)),
    munmap: (address, length) => munmap(BigInt(address), BigInt(length)) as number,
    close: (fd) => close(fd) as number,
    pipe2: pipe2 && ((fds, flags) => pipe2(fds, flags) as number),
    write: (fd, bytes) => Number(write(fd, bytes, BigInt(bytes.length))),
    read: (fd, buffer) => Promise.resolve(Number(read(fd, buffer, BigInt(buffer.length)))),
    sigaction: (signal, act, old) => sigaction(signal, act, old) as number,
    getppid: () => getppid() as number,
    fcntl: (fd, command, argument) => fcntl(fd, command, argument) as number,
    getenv: (name) => {
      const value = getenv(name) as bigint;
      return value === 0n ? null : toString(value);
    },
    setenv: (name, value, overwrite) => setenv(name, value, overwrite) as number,
    clock_gettime: (clock, timespec) => clock_gettime(clock, timespec) as number,
    errno: () => getInt32(errnoPointer, 0),
    arrayBuffer: (address: Address, offset: number, length: number) =>
      toArrayBuffer(BigInt(address + offset), length, false),
    // V8 on 64-bit makes ArrayBuffers of any size a mapping can have (5 GiB tried).
    maxArrayBufferBytes: Number.MAX_SAFE_INTEGER,
    // node:ffi's toArrayBuffer takes no deallocator: a forgotten mapping goes through the registry (src/mapping.ts).
    unmappingArrayBuffer: undefined,
    collectGarbage,
  };
}

/**
 * Waiting and waking (issue 14): the futex system call, the robust pthread mutex, the clock; the same
 * symbols as `bindBunWait`. `node:ffi` keys functions by symbol name (no alias), so `syscall` for
 * futex_waitv, with its own argument list, is opened in a `dlopen` of its own.
 */
const waitSymbols: Record<string, NodeSymbol> = {
  // long syscall(SYS_futex, uint32_t *uaddr, int futex_op, uint32_t val, const struct timespec *timeout, uint32_t *uaddr2, uint32_t val3);
  // uaddr as an address (a word of a mapping or of a SharedArrayBuffer), timeout a BigInt64Array or null; the
  // result read as its low 32 bits (0, -1 or a count of woken waiters: x86-64 and arm64 return the long in a
  // register whose low half is that int), so that no BigInt is made for it. Seven arguments are node:ffi's cheapest
  // shape for it (300 ns a wake; declared with 4-6: 420-520 ns), a `null` timeout costing no more than a number
  syscall: { arguments: ["int64", "uint64", "int32", "int32", "buffer", "uint64", "int32"], return: "int32" },
  // int pthread_mutexattr_init(pthread_mutexattr_t *attr)
  pthread_mutexattr_init: { arguments: ["buffer"], return: "int32" },
  // int pthread_mutexattr_settype(pthread_mutexattr_t *attr, int type)
  pthread_mutexattr_settype: { arguments: ["buffer", "int32"], return: "int32" },
  // int pthread_mutexattr_setpshared(pthread_mutexattr_t *attr, int pshared)
  pthread_mutexattr_setpshared: { arguments: ["buffer", "int32"], return: "int32" },
  // int pthread_mutexattr_setrobust(pthread_mutexattr_t *attr, int robustness)
  pthread_mutexattr_setrobust: { arguments: ["buffer", "int32"], return: "int32" },
  // int pthread_mutex_init(pthread_mutex_t *mutex, const pthread_mutexattr_t *attr)
  pthread_mutex_init: { arguments: ["buffer", "buffer"], return: "int32" },
  // int pthread_mutex_lock(pthread_mutex_t *mutex); the mutex as a `buffer` here and below: its address as a cached
  // bigint `uint64` costs more (docs/runtime-facts.md, "What a node:ffi call costs")
  pthread_mutex_lock: { arguments: ["buffer"], return: "int32" },
  // int pthread_mutex_trylock(pthread_mutex_t *mutex)
  pthread_mutex_trylock: { arguments: ["buffer"], return: "int32" },
  // int pthread_mutex_unlock(pthread_mutex_t *mutex)
  pthread_mutex_unlock: { arguments: ["buffer"], return: "int32" },
  // int pthread_mutex_consistent(pthread_mutex_t *mutex)
  pthread_mutex_consistent: { arguments: ["buffer"], return: "int32" },
  // int pthread_mutex_clocklock(pthread_mutex_t *mutex, clockid_t clockid, const struct timespec *abstime)
  pthread_mutex_clocklock: { arguments: ["buffer", "int32", "buffer"], return: "int32" },
  // int clock_gettime(clockid_t clockid, struct timespec *tp)
  clock_gettime: { arguments: ["int32", "buffer"], return: "int32" },
  // int sched_getaffinity(pid_t pid, size_t cpusetsize, cpu_set_t *mask)
  sched_getaffinity: { arguments: ["int32", "uint64", "buffer"], return: "int32" },
  // int sched_getcpu(void)
  sched_getcpu: { arguments: [], return: "int32" },
  // pid_t getpid(void)
  getpid: { arguments: [], return: "int32" },
  // int kill(pid_t pid, int sig)
  kill: { arguments: ["int32", "int32"], return: "int32" },
  // int *__errno_location(void)
  __errno_location: { arguments: [], return: "pointer" },
};

/** long syscall(SYS_futex_waitv, struct futex_waitv *waiters, unsigned int nr_futexes, unsigned int flags, struct timespec *timeout, clockid_t clockid) */
const waitvSymbol: Record<string, NodeSymbol> = {
  // timeout: an absolute CLOCK_MONOTONIC timespec (a BigInt64Array), or null
  syscall: { arguments: ["int64", "buffer", "uint32", "uint32", "buffer", "int32"], return: "int64" },
};

/** Opens the wait calls from the first of `platform.libraries` that has them all (Linux only for now).
 * Node has no `nonblocking` calls: waits off the event loop go through a worker thread (`nodeWorkerThread`). */
export function bindNodeWait(platform: Platform, sync: LinuxSync): RawWait {
  const ffi = nodeFfi();
  if (!ffi) throw new Error("node:ffi is not available");
  const { s, waitv } = firstLibrary(
    platform.libraries,
    (candidate): { s: NodeFunctions; waitv: NodeFunctions[string] } => ({
      s: ffi.dlopen(candidate.libc, waitSymbols).functions,
      waitv: ffi.dlopen(candidate.libc, waitvSymbol).functions.syscall,
    }),
  );
  const {
    syscall,
    pthread_mutexattr_init,
    pthread_mutexattr_settype,
    pthread_mutexattr_setpshared,
    pthread_mutexattr_setrobust,
    pthread_mutex_init,
    pthread_mutex_lock,
    pthread_mutex_trylock,
    pthread_mutex_unlock,
    pthread_mutex_consistent,
    pthread_mutex_clocklock,
    clock_gettime,
    sched_getaffinity,
    sched_getcpu,
    getpid,
    kill,
  } = s;
  const errnoPointer = s.__errno_location() as bigint;
  const { getInt32, getRawPointer } = ffi;
  const SYS_futex = BigInt(sync.SYS_futex);
  const SYS_futex_waitv = BigInt(sync.SYS_futex_waitv);
  const SYS_membarrier = BigInt(sync.SYS_membarrier);
  // The BigInt of the address used last, kept: a loop on one word makes none.
  let lastAddress = -1;
  let lastBig = 0n;
  const bigOf = (address: number) => address === lastAddress ? lastBig : (lastBig = BigInt(lastAddress = address));
  return {
    futex: (address, op, value, timeout) => syscall(SYS_futex, bigOf(address), op, value, timeout, 0n, 0) as number,
    waitv: (waiters, count, deadline = null) =>
      Number(waitv(SYS_futex_waitv, waiters, count, 0, deadline, sync.CLOCK_MONOTONIC)),
    waitvNonblocking: undefined,
    // the command in the pointer's register
    membarrier: (command) => syscall(SYS_membarrier, BigInt(command), 0, 0, null, 0n, 0) as number,
    mutexattr_init: (attr) => pthread_mutexattr_init(attr) as number,
    mutexattr_settype: (attr, type) => pthread_mutexattr_settype(attr, type) as number,
    mutexattr_setpshared: (attr, shared) => pthread_mutexattr_setpshared(attr, shared) as number,
    mutexattr_setrobust: (attr, robust) => pthread_mutexattr_setrobust(attr, robust) as number,
    mutex_init: (mutex, attr) => pthread_mutex_init(mutex, attr) as number,
    mutex_lock: (mutex) => pthread_mutex_lock(mutex) as number,
    mutex_trylock: (mutex) => pthread_mutex_trylock(mutex) as number,
    mutex_unlock: (mutex) => pthread_mutex_unlock(mutex) as number,
    mutex_consistent: (mutex) => pthread_mutex_consistent(mutex) as number,
    mutex_clocklock: (mutex, clock, abstime) => pthread_mutex_clocklock(mutex, clock, abstime) as number,
    clock_gettime: (clock, time) => clock_gettime(clock, time) as number,
    sched_getaffinity: (pid, size, mask) => sched_getaffinity(pid, BigInt(size), mask) as number,
    sched_getcpu: sched_getcpu as () => number,
    getpid: () => getpid() as number,
    kill: (pid, signal) => kill(pid, signal) as number,
    errno: () => getInt32(errnoPointer, 0),
    addressOf: (buffer) => Number(getRawPointer(buffer)),
  };
}

/** The part of `node:worker_threads` used here. */
interface WorkerThreads {
  Worker: new (url: URL) => {
    postMessage(message: unknown): void;
    on(event: "message", listener: (answer: [number, number]) => void): void;
    on(event: "error", listener: (error: Error) => void): void;
    on(event: "exit", listener: (code: number) => void): void;
    ref(): void;
    unref(): void;
  };
}

/** What `wait_worker_node.ts` gets: the start message of `wait_thread.ts`, and the word that tells it to end. */
export interface NodeWaitThreadStart {
  shared: SharedArrayBuffer;
  sync: LinuxSync;
  /** Int32 slot 0: set to 1 when this process exits, the thread then ends instead of waiting again. */
  stop: SharedArrayBuffer;
}

/**
 * Node's wait thread: a `node:worker_threads` Worker over `wait_worker_node.ts`. Node joins every worker
 * thread when the process exits, even on `process.exit()` (docs/runtime-facts.md): one blocked in
 * `futex_waitv` would keep the process from ever ending. So on `exit` this thread is told to stop and
 * woken, and the worker ends; while no wait is pending it is unref'd, as in Bun.
 */
export function nodeWorkerThread(raw: RawWait): WaitThreadStarter {
  return (): WaitThread => {
    const process = (globalThis as unknown as {
      process: { getBuiltinModule(id: string): unknown; on(event: "exit", listener: () => void): void };
    }).process;
    const { Worker } = process.getBuiltinModule("node:worker_threads") as WorkerThreads;
    // The worker's file beside this one, .ts or .js as this file is (a compiled package is .js).
    const extension = import.meta.url.slice(import.meta.url.lastIndexOf("."));
    const worker = new Worker(new URL(`./wait_worker_node${extension}`, import.meta.url));
    worker.unref();
    const stop = new Int32Array(new SharedArrayBuffer(4));
    let exiting = false;
    let control: { slots: Int32Array; address: number; sync: LinuxSync } | undefined;
    process.on("exit", () => {
      exiting = true;
      Atomics.store(stop, 0, 1);
      if (!control) return;
      // A new generation: the thread's futex_waitv returns (or never blocks) and it sees `stop`.
      Atomics.add(control.slots, THREAD_SLOTS.generation, 1);
      raw.futex(control.address, control.sync.FUTEX_WAKE | control.sync.FUTEX_PRIVATE_FLAG, 0x7fffffff, null);
    });
    return {
      postMessage(message) {
        const start = message as { shared: SharedArrayBuffer; sync: LinuxSync };
        control = { slots: new Int32Array(start.shared, 0, 2), address: raw.addressOf(start.shared), sync: start.sync };
        worker.postMessage({ ...start, stop: stop.buffer } satisfies NodeWaitThreadStart);
      },
      listen(onAnswer, onError) {
        worker.on("message", onAnswer);
        worker.on("error", (error) => onError(new Error(`the wait thread failed: ${error.message}`, { cause: error })));
        worker.on("exit", (code) => {
          if (!exiting) onError(new Error(`the wait thread ended (exit code ${code})`));
        });
      },
      ref: () => worker.ref(),
      unref: () => worker.unref(),
    };
  };
}

/** io_uring (`uring.ts`): two `syscall`s of their own argument lists, each in a `dlopen` of its own, and the calls
 * that map the ring and make its doorbell pipe. */
const uringSymbols: Record<string, NodeSymbol> = {
  // long syscall(SYS_io_uring_setup, unsigned entries, struct io_uring_params *p)
  syscall: { arguments: ["int64", "uint32", "buffer"], return: "int32" },
  // void *mmap(void *addr, size_t length, int prot, int flags, int fd, off_t offset); MAP_FAILED is -1
  mmap: { arguments: ["uint64", "uint64", "int32", "int32", "int32", "int64"], return: "int64" },
  // int munmap(void *addr, size_t length)
  munmap: { arguments: ["uint64", "uint64"], return: "int32" },
  // int close(int fd)
  close: { arguments: ["int32"], return: "int32" },
  // int pipe2(int pipefd[2], int flags)
  pipe2: { arguments: ["buffer", "int32"], return: "int32" },
};
const uringEnterSymbol: Record<string, NodeSymbol> = {
  // long syscall(SYS_io_uring_enter, int fd, unsigned to_submit, unsigned min_complete, unsigned flags, const sigset_t *sig, size_t sz)
  syscall: { arguments: ["int64", "int32", "uint32", "uint32", "uint32", "uint64", "uint64"], return: "int32" },
};

/** The part of `node:net` used here. */
interface NodeNet {
  Socket: new (options: { fd: number; readable: boolean; writable: boolean }) => {
    on(event: "data" | "error", listener: () => void): void;
    ref(): void;
    unref(): void;
  };
}

/** The io_uring calls (Linux), or undefined where libc will not open them. The doorbell is a `net.Socket` over
 * the pipe's read end: libuv watches it with epoll on the event loop's thread (an `fs` stream would read on
 * libuv's thread pool). */
export function bindNodeUring(platform: Platform, numbers: { setup: number; enter: number }): RawUring | undefined {
  const ffi = nodeFfi();
  if (!ffi) return undefined;
  const process = (globalThis as unknown as { process: { getBuiltinModule(id: string): unknown } }).process;
  const opened = firstLibraryIfAny(
    platform.libraries,
    (candidate): { s: NodeFunctions; enter: NodeFunctions[string] } => ({
      s: ffi.dlopen(candidate.libc, uringSymbols).functions,
      enter: ffi.dlopen(candidate.libc, uringEnterSymbol).functions.syscall,
    }),
  );
  if (!opened) return undefined; // no library here has them
  const { s, enter } = opened;
  const setupNumber = BigInt(numbers.setup);
  const enterNumber = BigInt(numbers.enter);
  return {
    setup: (entries, params) => s.syscall(setupNumber, entries, params) as number,
    enter: (fd, toSubmit, minComplete, flags) => enter(enterNumber, fd, toSubmit, minComplete, flags, 0n, 0n) as number,
    mmap: (length, prot, flags, fd, offset) => Number(s.mmap(0n, BigInt(length), prot, flags, fd, BigInt(offset))),
    munmap: (address, length) => s.munmap(BigInt(address), BigInt(length)) as number,
    close: (fd) => s.close(fd) as number,
    pipe2: (fds, flags) => s.pipe2(fds, flags) as number,
    arrayBuffer: (address, length) => ffi.toArrayBuffer(BigInt(address), length, false),
    watch(fd, onReadable) {
      // Made at the first wait: a ring that fails its probe closes the descriptor, which libuv must not hold.
      let socket: InstanceType<NodeNet["Socket"]> | undefined;
      return {
        ref() {
          if (!socket) {
            const { Socket } = process.getBuiltinModule("node:net") as NodeNet;
            socket = new Socket({ fd, readable: true, writable: false });
            socket.on("data", onReadable);
            socket.on("error", onReadable); // read what completed; the next wait finds the ring's state
          }
          socket.ref();
        },
        unref: () => socket?.unref(),
      };
    },
  };
}
